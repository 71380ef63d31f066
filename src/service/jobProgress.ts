// A job's progress as a stream of snapshots: read from the database (other replicas move the job too), sooner when
// this process stores its items, sent on a status change at once, on counter changes at most about once a second.
import type { AnalysisJobRow } from '../db/index.js';
import { isTerminal, toAnalysisJobView, type AnalysisJobView } from './analysisJobViews.js';
import type { JobEvents } from './JobEvents.js';

/** How often the job is read when nothing here says it changed: what other replicas did shows within this. */
export const PROGRESS_POLL_MS = 1000;
/** Counter changes are sent at most this often: a progress bar needs no more, and a busy job changes constantly. */
export const PROGRESS_MIN_INTERVAL_MS = 1000;
/** A snapshot goes out at least this often even when nothing changed, so a client sees the stream is alive. */
export const PROGRESS_HEARTBEAT_MS = 5000;
/** Reads of the job at most this often, however often this process stores its items. */
const MIN_READ_INTERVAL_MS = 250;

export interface WatchJobProgressOptions {
  /** The job as just read (its owner checked). */
  first: AnalysisJobRow;
  /** Reads the job again; null once it is gone. */
  read: () => Promise<AnalysisJobRow | null>;
  jobEvents: JobEvents;
  /** Ends the stream (the client went). */
  signal: AbortSignal;
}

export async function* watchJobProgress(options: WatchJobProgressOptions): AsyncGenerator<AnalysisJobView> {
  const { read, jobEvents, signal } = options;
  const jobId = options.first.id;
  let sent = options.first;
  let sentAt = Date.now();
  yield toAnalysisJobView(sent);
  while (!isTerminal(sent.status) && !signal.aborted) {
    const readAt = Date.now();
    await jobEvents.next((event) => event.jobId === jobId, PROGRESS_POLL_MS, signal);
    await delay(MIN_READ_INTERVAL_MS - (Date.now() - readAt), signal);
    if (signal.aborted) return;
    const job = await read();
    if (!job) return;
    const since = Date.now() - sentAt;
    const statusChanged = job.status !== sent.status;
    const countersChanged = job.total !== sent.total || job.processed !== sent.processed || job.failed !== sent.failed;
    if (statusChanged || (countersChanged && since >= PROGRESS_MIN_INTERVAL_MS) || since >= PROGRESS_HEARTBEAT_MS) {
      sent = job;
      sentAt = Date.now();
      yield toAnalysisJobView(job);
    }
  }
}

/** Waits `ms` (nothing when not positive), or until `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
