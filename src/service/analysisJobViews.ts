// What the API shows of analysis jobs and items: the stored rows, with a job's rate and time left worked out from its
// counters and clock.
import type { AnalysisItemRow, AnalysisJobRow, AnalysisJobStatus } from '../db/index.js';
import { toTaskResultView, type TaskResultView } from './views.js';

export const TERMINAL_JOB_STATUSES: readonly AnalysisJobStatus[] = ['done', 'cancelled', 'failed'];

export interface AnalysisJobView extends AnalysisJobRow {
  /** Items processed per second since the job started (until it ended); null before it started. */
  itemsPerSecond: number | null;
  /** Seconds until every item is processed at that rate; null when unknown (no rate yet) or when the job has ended. */
  etaSeconds: number | null;
}

export interface AnalysisItemView extends Omit<AnalysisItemRow, 'taskResults'> {
  taskResults: TaskResultView[];
}

export function isTerminal(status: AnalysisJobStatus): boolean {
  return TERMINAL_JOB_STATUSES.includes(status);
}

export function toAnalysisJobView(row: AnalysisJobRow, now: Date = new Date()): AnalysisJobView {
  const terminal = isTerminal(row.status);
  if (row.startedAt === null) return { ...row, itemsPerSecond: null, etaSeconds: null };
  const until = terminal && row.finishedAt !== null ? row.finishedAt : now;
  const seconds = Math.max(0, (until.getTime() - row.startedAt.getTime()) / 1000);
  const itemsPerSecond = seconds > 0 ? row.processed / seconds : null;
  const left = row.total - row.processed;
  const etaSeconds = terminal || itemsPerSecond === null || itemsPerSecond === 0 ? null : left / itemsPerSecond;
  return { ...row, itemsPerSecond, etaSeconds };
}

export function toAnalysisItemView(row: AnalysisItemRow): AnalysisItemView {
  return { ...row, taskResults: row.taskResults.map(toTaskResultView) };
}
