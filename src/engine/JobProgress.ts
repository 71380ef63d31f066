// What one engine job did, measured for the optional `onJobFinished` observer (metrics live outside the engine).
import {
  EngineError,
  type AbortedError,
  type BackgroundDisabledError,
  type BadInputError,
  type EngineBusyError,
  type ModelUnavailableError,
  type TimeoutError,
} from './errors.js';
import type { JobKind } from './Scheduler.js';

export type EngineErrorCode = (
  AbortedError | BackgroundDisabledError | BadInputError | EngineBusyError | ModelUnavailableError | TimeoutError
)['code'];

/**
 * How a job ended: `ok`, or the code of what ended it — `ABORTED` when its caller stopped it (a chat stopped
 * mid-reply included), `ENGINE_BUSY` when the queue refused it, `TIMEOUT`, `MODEL_UNAVAILABLE` (shutdown),
 * `BAD_INPUT`, or `INTERNAL` for anything unexpected.
 */
export type JobOutcome = 'ok' | EngineErrorCode | 'INTERNAL';

export interface JobFinishedEvent {
  kind: JobKind;
  outcome: JobOutcome;
  /** From submission to the end, queue wait included: what a caller waited. */
  latencyMs: number;
  /** Chat only: from submission to the first text delta; absent when no text came. */
  timeToFirstTokenMs?: number;
  /** Tokens the job generated (chat replies; sentiment jobs generate none). */
  tokens: number;
}

export class JobProgress {
  readonly #kind: JobKind;
  readonly #submittedAt = performance.now();
  #firstTextAt: number | undefined;
  #tokens = 0;

  constructor(kind: JobKind) {
    this.#kind = kind;
  }

  /** One token was generated. */
  token(): void {
    this.#tokens += 1;
  }

  /** A text delta reached the caller; only the first one is timed. */
  text(): void {
    this.#firstTextAt ??= performance.now();
  }

  finished(outcome: 'ok' | 'ABORTED'): JobFinishedEvent {
    const now = performance.now();
    return {
      kind: this.#kind,
      outcome,
      latencyMs: now - this.#submittedAt,
      ...(this.#firstTextAt === undefined ? {} : { timeToFirstTokenMs: this.#firstTextAt - this.#submittedAt }),
      tokens: this.#tokens,
    };
  }

  failed(error: unknown): JobFinishedEvent {
    const event = this.finished('ok');
    return { ...event, outcome: error instanceof EngineError ? (error.code as EngineErrorCode) : 'INTERNAL' };
  }
}
