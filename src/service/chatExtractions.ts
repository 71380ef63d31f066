// A chat message's extractions, run beside its reply (they steer nothing): each its own engine job, stored and told as it ends.
import type { Repository } from '../db/index.js';
import type { Engine, JobOptions, Locale } from '../engine/index.js';
import { storedShapeOf } from './analysis.js';
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

/**
 * Runs the extractions one job each, so one that completed is stored even if a later one is stopped; resolves with
 * the stored results. Stops early, storing nothing more, when the message is gone (its conversation was deleted).
 */
export async function runChatExtractions(
  engine: Engine,
  database: Repository,
  request: ChatExtractionsRequest,
): Promise<TaskResultView[]> {
  const stored: TaskResultView[] = [];
  for (const task of request.tasks) {
    const run = await engine.runTasks(request.text, [task], { locale: request.locale, kind: 'extract', ...request.jobOptions });
    const rows = await database.insertMessageResults({ messageId: request.messageId, taskResults: storedShapeOf(run).taskResults });
    if (rows === null) break;
    const views = rows.map(toTaskResultView);
    stored.push(...views);
    request.onResults(views);
  }
  return stored;
}
