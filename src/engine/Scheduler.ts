// The only way work reaches the model: a bounded FIFO queue of jobs whose evaluation steps share one mutex.
import { FifoMutex } from './FifoMutex.js';
import type { AbortSignalLike } from './forwardAbort.js';
import { AbortedError, EngineBusyError, ModelUnavailableError, TimeoutError } from './errors.js';

export type JobKind = 'sentiment' | 'sentiment-batch' | 'chat';

/**
 * How long a job holds the engine mutex: `step` releases it after every evaluation step (a prompt chunk,
 * one token), so jobs interleave; `job` holds it from a job's start to its end, the naive design that the
 * fairness benchmark measures for contrast.
 */
export type MutexScope = 'step' | 'job';

export interface SchedulerOptions {
  /** Jobs allowed to wait for a free lane; one more is refused at once with `EngineBusyError`. */
  maxQueue: number;
  /** Limit for a job from submission (queue wait included) to its end. */
  jobTimeoutMs: number;
  /** How many jobs each lane runs at once; a lane is a resource such as a context sequence. */
  laneCapacity: Readonly<Record<string, number>>;
  /** Defaults to `step`. */
  mutexScope?: MutexScope;
}

export interface SubmitOptions {
  kind: JobKind;
  /** Which lane the job needs; jobs of one lane start in submission order. */
  lane: string;
  /** Aborting it removes a queued job, or asks a running one to stop at its next step. */
  signal?: AbortSignalLike;
}

/** What a running job may do: take mutex-guarded steps, and watch its signal (caller abort, timeout, shutdown). */
export interface JobContext {
  readonly kind: JobKind;
  readonly signal: AbortSignal;
  /** Runs one model evaluation while holding the engine mutex; between steps other jobs get their turn. */
  step<T>(work: () => Promise<T>): Promise<T>;
}

export interface SchedulerSnapshot {
  queueDepth: number;
  running: JobKind[];
}

interface Job {
  readonly kind: JobKind;
  readonly lane: string;
  readonly controller: AbortController;
  start(): void;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #mutex = new FifoMutex();
  readonly #waiting: Job[] = [];
  readonly #running = new Set<Job>();
  readonly #settling = new Set<Promise<void>>();
  readonly #laneLoad = new Map<string, number>();
  #closed = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  snapshot(): SchedulerSnapshot {
    return { queueDepth: this.#waiting.length, running: [...this.#running].map((job) => job.kind) };
  }

  submit<T>(options: SubmitOptions, work: (job: JobContext) => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new ModelUnavailableError({ message: 'The engine is shutting down.' }));
    }
    if (!(options.lane in this.#options.laneCapacity)) {
      return Promise.reject(new Error(`Unknown scheduler lane "${options.lane}".`));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new AbortedError({ message: 'The job was aborted before it started.' }));
    }
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const timeoutMs = this.#options.jobTimeoutMs;
      const timer = setTimeout(() => {
        controller.abort(new TimeoutError({ message: `The job did not finish within ${timeoutMs} ms.` }));
      }, timeoutMs);
      const onCallerAbort = (): void => {
        controller.abort(new AbortedError({ message: 'The job was aborted by its caller.' }));
      };
      options.signal?.addEventListener('abort', onCallerAbort, { once: true });
      const cleanUp = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onCallerAbort);
      };

      const job: Job = {
        kind: options.kind,
        lane: options.lane,
        controller,
        start: () => {
          controller.signal.removeEventListener('abort', onQueuedAbort);
          const settled = Promise.resolve()
            .then(() => this.#run(options.kind, controller.signal, work))
            .then(resolve, reject)
            .finally(() => {
              cleanUp();
              this.#finish(job, settled);
            });
          this.#settling.add(settled);
        },
      };
      const onQueuedAbort = (): void => {
        const index = this.#waiting.indexOf(job);
        if (index < 0) return;
        this.#waiting.splice(index, 1);
        cleanUp();
        reject(controller.signal.reason);
        this.#dispatch();
      };
      controller.signal.addEventListener('abort', onQueuedAbort, { once: true });
      this.#waiting.push(job);
      this.#dispatch();
      if (this.#waiting.length > this.#options.maxQueue && this.#waiting.at(-1) === job) {
        this.#waiting.pop();
        controller.signal.removeEventListener('abort', onQueuedAbort);
        cleanUp();
        reject(
          new EngineBusyError({
            message: `The engine queue is full (${this.#options.maxQueue} jobs waiting); try again shortly.`,
          }),
        );
      }
    });
  }

  /** Refuses new jobs, fails queued ones, asks running ones to stop, and waits for them to settle. */
  async close(): Promise<void> {
    this.#closed = true;
    const shutdown = new ModelUnavailableError({ message: 'The engine is shutting down.' });
    for (const job of [...this.#waiting, ...this.#running]) job.controller.abort(shutdown);
    await Promise.all([...this.#settling]);
  }

  async #run<T>(kind: JobKind, signal: AbortSignal, work: (job: JobContext) => Promise<T>): Promise<T> {
    if (this.#options.mutexScope !== 'job') {
      return work({ kind, signal, step: (stepWork) => this.#mutex.runExclusive(stepWork, signal) });
    }
    const release = await this.#mutex.acquire(signal);
    try {
      return await work({
        kind,
        signal,
        step: (stepWork) => {
          signal.throwIfAborted();
          return stepWork();
        },
      });
    } finally {
      release();
    }
  }

  #laneHasRoom(lane: string): boolean {
    return (this.#laneLoad.get(lane) ?? 0) < (this.#options.laneCapacity[lane] ?? 0);
  }

  #dispatch(): void {
    for (let index = 0; index < this.#waiting.length; ) {
      const job = this.#waiting[index]!;
      if (!this.#laneHasRoom(job.lane)) {
        index += 1;
        continue;
      }
      this.#waiting.splice(index, 1);
      this.#laneLoad.set(job.lane, (this.#laneLoad.get(job.lane) ?? 0) + 1);
      this.#running.add(job);
      job.start();
    }
  }

  #finish(job: Job, settled: Promise<void>): void {
    this.#running.delete(job);
    this.#settling.delete(settled);
    this.#laneLoad.set(job.lane, (this.#laneLoad.get(job.lane) ?? 1) - 1);
    this.#dispatch();
  }
}
