// The only way work reaches the model: bounded fair admission of jobs into lanes, and their steps batched per decode.
import { FairQueue } from './FairQueue.js';
import { FifoMutex } from './FifoMutex.js';
import { LaneSlots, type SlotHolder } from './LaneSlots.js';
import type { AbortSignalLike } from '../forwardAbort.js';
import { AbortedError, EngineBusyError, ModelUnavailableError, TimeoutError } from './errors.js';
import { LEADING_PROMPT_TOKENS, StepBatcher, type CycleReport, type InteractiveActivity, type StepBatcherOptions, type StepShape } from './StepBatcher.js';

/** `job`: background work (an analysis job's item), whatever its tasks. */
export type JobKind = 'sentiment' | 'sentiment-batch' | 'chat' | 'classify' | 'extract' | 'analyze' | 'job';

/**
 * How jobs share the model: `step` gathers the steps of every running job into one decode per cycle (a generated
 * token of each reply, a chunk of a new prompt), so jobs interleave; `job` lets one job hold the model from its
 * start to its end, the naive design that the fairness benchmark measures for contrast. It stays in the product
 * (one branch in `#run` and FifoMutex) so that contrast is measured on this engine, not on a copy that would drift.
 */
export type MutexScope = 'step' | 'job';

export interface SchedulerOptions {
  /** Jobs allowed to wait for a free lane; one more is refused at once with `EngineBusyError`. */
  maxQueue: number;
  /** Jobs one key may have waiting; its next is refused first (default: `maxQueue`). */
  maxQueuePerKey?: number;
  /** Limit for a job from submission (queue wait included) to its end. */
  jobTimeoutMs: number;
  /** How many jobs each lane runs at once; a lane is a resource such as a set of context sequences. */
  laneCapacity: Readonly<Record<string, number>>;
  /** Defaults to `step`. */
  mutexScope?: MutexScope;
  /** What one cycle's decode may carry; defaults fit the engine's prompt chunks. */
  batching?: StepBatcherOptions;
  /** How long after an interactive job background cycles stay small; default `IN_USE_WINDOW_MS`. */
  inUseWindowMs?: number;
  /** Told about every cycle (how many steps shared its decode); for statistics. */
  onCycle?: (report: CycleReport) => void;
}

export interface SubmitOptions {
  kind: JobKind;
  /** Which lane the job needs; jobs of one lane and one key start in submission order. */
  lane: string;
  /** Whose job it is, for fair turns across keys (an API key's fingerprint); jobs without one share a turn. */
  key?: string;
  /** Aborting it removes a queued job, or asks a running one to stop at its next step. */
  signal?: AbortSignalLike;
  /**
   * The job may hold its slot for long (an extraction generating its answer): a lane with more than one slot runs
   * at most `capacity - 1` such jobs at once, so a short job never waits behind long ones for a free slot.
   */
  long?: boolean;
  /**
   * Overrides the scheduler's time limit for this job; `null`: no limit (the load-time warm-up, which reports
   * progress instead; background work, which its caller's signal stops). Default: `jobTimeoutMs`, or none for
   * background work.
   */
  timeoutMs?: number | null;
  /**
   * Work nobody waits for (give it a lane of its own): it waits in a queue of its own, never counted against the
   * queue limits nor refused by them, and its steps run only when no other job runs or waits (see StepBatcher).
   */
  background?: boolean;
}

/** What a running job may do: take steps that share the model, and watch its signal (caller abort, timeout, shutdown). */
export interface JobContext {
  readonly kind: JobKind;
  readonly signal: AbortSignal;
  /** Runs one model evaluation in a coming cycle, beside the other jobs' steps; `shape` says what it evaluates. */
  step<T>(work: () => Promise<T>, shape: StepShape): Promise<T>;
  /**
   * Between two parts of a job (the texts of a batch, the tasks of an analysis): when a job of another key waits for
   * this lane, hands it the slot and resumes at this key's next fair turn (never refused, the time limit running
   * on). The job must hold none of the lane's resources (its sequence lease) across the call.
   */
  yield(): Promise<void>;
  /**
   * How many prompt tokens one step should evaluate now; undefined: the usual chunk (syncSequence's). Small for
   * background work while the engine is in use, and for a long job once another key's prompt work ran since it
   * started (within the in-use window), so the decode another job may wait for stays short.
   */
  readonly promptChunkTokens?: number | undefined;
}

export interface SchedulerSnapshot {
  /** Interactive jobs waiting (what the queue limits count). */
  queueDepth: number;
  running: JobKind[];
}

interface Job extends SlotHolder {
  readonly kind: JobKind;
  readonly key: string | undefined;
  readonly background: boolean;
  readonly controller: AbortController;
  start(): void;
}

const DEFAULT_BATCHING: StepBatcherOptions = { promptTokensBesideReplies: 80, promptTokensAlone: 512 };
/**
 * How long after an interactive job the engine counts as in use: background cycles stay small meanwhile, so a
 * person's next query (a paced client, a chat's next message) finds at most a short background decode in its way.
 */
export const IN_USE_WINDOW_MS = 1000;

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #mutex = new FifoMutex();
  readonly #batcher: StepBatcher;
  readonly #waiting = new FairQueue<Job>();
  /** Background jobs waiting: apart from `#waiting`, so they never count against its limits. */
  readonly #waitingBackground = new FairQueue<Job>();
  readonly #running = new Set<Job>();
  /** Queue entries standing for yielded jobs, and the jobs they resume. */
  readonly #resumptions = new Map<Job, Job>();
  readonly #settling = new Set<Promise<void>>();
  readonly #slots: LaneSlots;
  /** When the last interactive job ended (performance.now()); -Infinity: none yet. */
  #lastInteractiveAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#slots = new LaneSlots(options.laneCapacity);
    this.#batcher = new StepBatcher(
      options.batching ?? DEFAULT_BATCHING,
      () => this.#activity(),
      options.onCycle,
      options.inUseWindowMs ?? IN_USE_WINDOW_MS,
    );
  }

  snapshot(): SchedulerSnapshot {
    return { queueDepth: this.#waiting.size, running: [...this.#running].map((job) => job.kind) };
  }

  submit<T>(options: SubmitOptions, work: (job: JobContext) => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new ModelUnavailableError({ message: 'The engine is shutting down.' }));
    }
    if (!this.#slots.has(options.lane)) {
      return Promise.reject(new Error(`Unknown scheduler lane "${options.lane}".`));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new AbortedError({ message: 'The job was aborted before it started.' }));
    }
    const background = options.background === true;
    const refusal = background ? undefined : this.#refusalFor(options);
    if (refusal) return Promise.reject(refusal);
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const timeoutMs = options.timeoutMs !== undefined ? options.timeoutMs : background ? null : this.#options.jobTimeoutMs;
      const timer =
        timeoutMs === null
          ? undefined
          : setTimeout(() => {
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
        key: options.key,
        long: options.long === true,
        background,
        controller,
        holdsSlot: false,
        start: () => {
          controller.signal.removeEventListener('abort', onQueuedAbort);
          const startedAt = performance.now();
          const settled = Promise.resolve()
            .then(() => this.#run(job, work))
            .then(resolve, reject)
            .finally(() => {
              cleanUp();
              this.#finish(job, settled, performance.now() - startedAt);
            });
          this.#settling.add(settled);
        },
      };
      const onQueuedAbort = (): void => {
        if (!this.#queueOf(job).remove(job)) return;
        cleanUp();
        reject(controller.signal.reason);
        this.#dispatch();
        this.#wakeIfIdle(job);
      };
      controller.signal.addEventListener('abort', onQueuedAbort, { once: true });
      this.#queueOf(job).push(job);
      this.#dispatch();
    });
  }

  /** Refuses new jobs, fails queued ones, asks running ones to stop, and waits for them to settle. */
  async close(): Promise<void> {
    this.#closed = true;
    const shutdown = new ModelUnavailableError({ message: 'The engine is shutting down.' });
    for (const job of [...this.#waiting.all(), ...this.#waitingBackground.all(), ...this.#running]) job.controller.abort(shutdown);
    await Promise.all([...this.#settling]);
  }

  /** A job that would wait is refused when the queue, or its key's share of it, is full; with a hint when to retry. */
  #refusalFor(options: SubmitOptions): EngineBusyError | undefined {
    if (this.#slots.hasRoom(options.lane)) return undefined;
    const perKey = this.#options.maxQueuePerKey ?? this.#options.maxQueue;
    const waitingForKey = this.#waiting.countFor(options.key);
    if (options.key !== undefined && waitingForKey >= perKey) {
      return new EngineBusyError({
        message: `This API key already has ${waitingForKey} jobs waiting (the limit per key); try again shortly.`,
        retryAfterMs: this.#slots.retryAfterMs(options.lane, waitingForKey),
        limit: 'key',
      });
    }
    if (this.#waiting.size >= this.#options.maxQueue) {
      return new EngineBusyError({
        message: `The engine queue is full (${this.#options.maxQueue} jobs waiting); try again shortly.`,
        retryAfterMs: this.#slots.retryAfterMs(options.lane, this.#waiting.countIn(options.lane)),
        limit: 'queue',
      });
    }
    return undefined;
  }

  async #run<T>(job: Job, work: (job: JobContext) => Promise<T>): Promise<T> {
    const { kind, key, background } = job;
    const signal = job.controller.signal;
    if (this.#options.mutexScope !== 'job') {
      const batcher = this.#batcher;
      let promptTokens = 0;
      const startedAt = performance.now();
      /** The job's last prompt decode, which sizes its next chunk while it shares the engine (long jobs). */
      let lastPrompt: { tokens: number; ms: number } | undefined;
      return work({
        kind,
        signal,
        step: (stepWork, shape) => {
          const owner = { key, background, leading: promptTokens + Math.max(1, shape.tokens) <= LEADING_PROMPT_TOKENS };
          if (shape.generating) return batcher.step(stepWork, shape, signal, owner);
          promptTokens += Math.max(1, shape.tokens);
          const timed = async () => {
            const startedAt = performance.now();
            try {
              return await stepWork();
            } finally {
              if (shape.tokens > 0) lastPrompt = { tokens: shape.tokens, ms: performance.now() - startedAt };
            }
          };
          return batcher.step(timed, shape, signal, owner);
        },
        yield: () => this.#yield(job),
        get promptChunkTokens() {
          if (background) return batcher.backgroundPromptChunk;
          return job.long ? batcher.sharedPromptChunk(key, lastPrompt, startedAt) : undefined;
        },
      });
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
        // One job holds the model from start to end: there is nobody to hand it to.
        yield: async () => signal.throwIfAborted(),
      });
    } finally {
      release();
    }
  }

  /** Gives the slot to another key's waiting job, if there is one, and waits for this job's next fair turn. */
  async #yield(job: Job): Promise<void> {
    const signal = job.controller.signal;
    signal.throwIfAborted();
    // A waiting long job could take the freed slot only where long jobs have room (or this one was long too).
    const couldTakeSlot = (waiting: Job): boolean => !waiting.long || job.long || this.#slots.longJobHasRoom(job.lane);
    const queue = this.#queueOf(job);
    if (!queue.hasOtherKey(job.lane, job.key, couldTakeSlot)) return;
    this.#slots.release(job);
    this.#running.delete(job);
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (!queue.remove(resumption)) return;
        reject(signal.reason);
        this.#dispatch();
      };
      const resumption: Job = {
        ...job,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // Ahead of its key's other waiting jobs: it was admitted before them.
      queue.pushFront(resumption);
      this.#resumptions.set(resumption, job);
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const lane of this.#slots.lanes) {
      while (this.#slots.hasRoom(lane)) {
        const eligible = (waiting: Job): boolean => !waiting.long || this.#slots.longJobHasRoom(lane);
        const taken = this.#waiting.takeFor(lane, eligible) ?? this.#waitingBackground.takeFor(lane, eligible);
        if (!taken) break;
        // A yielded job comes back as a stand-in entry; the slot is counted on the job itself.
        const job = this.#resumptions.get(taken) ?? taken;
        this.#resumptions.delete(taken);
        this.#slots.take(job);
        this.#running.add(job);
        taken.start();
      }
    }
  }

  #finish(job: Job, settled: Promise<void>, durationMs: number): void {
    this.#running.delete(job);
    this.#settling.delete(settled);
    this.#slots.release(job);
    this.#slots.recordDuration(job.lane, durationMs);
    this.#dispatch();
    this.#wakeIfIdle(job);
  }

  #queueOf(job: Job): FairQueue<Job> {
    return job.background ? this.#waitingBackground : this.#waiting;
  }

  #activity(): InteractiveActivity {
    if (this.#waiting.size > 0) return 'busy';
    for (const job of this.#running) if (!job.background) return 'busy';
    const window = this.#options.inUseWindowMs ?? IN_USE_WINDOW_MS;
    return performance.now() - this.#lastInteractiveAt < window ? 'recent' : 'quiet';
  }

  /** After an interactive job left: when it was the last, the background steps it held back may run. */
  #wakeIfIdle(job: Job): void {
    if (job.background) return;
    this.#lastInteractiveAt = performance.now();
    if (this.#activity() !== 'busy') this.#batcher.wake();
  }
}
