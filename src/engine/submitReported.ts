// Submits a job and reports how it ended (kind, outcome, latency, tokens) to an observer, before its caller hears.
import { JobProgress, type JobFinishedEvent } from './JobProgress.js';
import type { JobContext, Scheduler, SubmitOptions } from './Scheduler.js';

export interface JobObserver {
  onJobFinished?: (event: JobFinishedEvent) => void;
  /** Where an exception thrown by `onJobFinished` goes: never to the job. */
  onWarning?: (message: string) => void;
}

export function submitReported<T>(
  scheduler: Scheduler,
  observer: JobObserver,
  options: SubmitOptions,
  work: (job: JobContext, progress: JobProgress) => Promise<T>,
  stoppedByCaller: (value: T) => boolean = () => false,
): Promise<T> {
  const progress = new JobProgress(options.kind);
  const running = scheduler.submit(options, (job) => work(job, progress));
  const listener = observer.onJobFinished;
  if (!listener) return running;
  const report = (event: JobFinishedEvent): void => {
    try {
      listener(event);
    } catch (error) {
      observer.onWarning?.(`onJobFinished failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  // Attached before the caller's own handlers, so the report lands before the caller sees the result.
  running.then(
    (value) => report(progress.finished(stoppedByCaller(value) ? 'ABORTED' : 'ok')),
    (error: unknown) => report(progress.failed(error)),
  );
  return running;
}
