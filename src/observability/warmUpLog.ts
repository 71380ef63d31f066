// The start-up log's progress lines while the engine prepares the task instructions ("warming up … 40/406").
import type { WarmUpProgress } from '../engine/index.js';
import type { Logger } from '../logger.js';

/** A line at the start, at each tenth of the way and at the end: a few lines for 3 tasks or for 200, never one per task. */
const STEPS = 10;

export function logWarmUpProgress(log: Logger): (progress: WarmUpProgress) => void {
  let reported = -1;
  return ({ done, total, fromCache }) => {
    const step = total === 0 ? STEPS : Math.floor((done * STEPS) / total);
    if (step === reported) return;
    reported = step;
    const cached = fromCache > 0 ? ` (${fromCache} loaded from TASK_STATES_DIR)` : '';
    log.info({ done, total, fromCache }, `warming up task instructions ${done}/${total}${cached}`);
  };
}
