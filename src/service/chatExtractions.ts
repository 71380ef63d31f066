// A chat message's extractions, run beside its reply (they steer nothing): each its own engine job, stored and told as it ends.
import type { Repository } from '../db/index.js';
import { AbortedError, type Engine, type JobOptions, type Locale } from '../engine/index.js';
import { forwardAbort } from '../forwardAbort.js';
import { storedShapeOf } from './taskRuns.js';
import { toTaskResultView, type TaskResultView } from './views.js';

export interface ChatExtractionsRequest {
  /** The user message, already stored: every result is stored with it. */
  messageId: string;
  text: string;
  /** Extract tasks, in CHAT_TASKS' order. */
  tasks: readonly string[];
  locale: Locale;
  /** The turn's fairness key and signal: stopping the turn stops the extraction running and drops those not begun. */
  jobOptions: JobOptions;
  /** Told each extraction as soon as it is stored. */
  onResults: (results: TaskResultView[]) => void;
}

export interface RunningExtractions {
  /** Stops the extraction running and those not begun (the reply ended early); what was stored stays. */
  stop(reason: AbortedError): void;
  /** Never rejects: what was stored, and the error that ended the rest if one did. */
  settled: Promise<{ stored: TaskResultView[]; error?: unknown }>;
}

/**
 * Starts the extractions, one engine job each, in order, so one that completed is stored even if a later one is
 * stopped; the engine runs them beside the reply's tokens. Stops early, storing nothing more, when the message is
 * gone (its conversation was deleted).
 */
export function startChatExtractions(engine: Engine, database: Repository, request: ChatExtractionsRequest): RunningExtractions {
  const stored: TaskResultView[] = [];
  if (request.tasks.length === 0) return { stop: () => {}, settled: Promise.resolve({ stored }) };
  const controller = new AbortController();
  const detach = forwardAbort(request.jobOptions.signal, controller);
  const jobOptions = { ...request.jobOptions, signal: controller.signal };
  const run = async (): Promise<void> => {
    for (const task of request.tasks) {
      const result = await engine.runTasks(request.text, [task], { locale: request.locale, kind: 'extract', ...jobOptions });
      const rows = await database.insertMessageResults({
        messageId: request.messageId,
        taskResults: storedShapeOf(result).taskResults,
      });
      if (rows === null) return;
      const views = rows.map(toTaskResultView);
      stored.push(...views);
      request.onResults(views);
    }
  };
  const settled = run()
    .then(
      () => ({ stored }),
      (error: unknown) => ({ stored, error }),
    )
    .finally(detach);
  return { stop: (reason) => controller.abort(reason), settled };
}
