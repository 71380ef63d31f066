// Typed engine errors: each carries a stable `code` that the API layer maps once to its own error codes.

import { CodedError, type CodedErrorOptions } from '../CodedError.js';

export type EngineErrorOptions = CodedErrorOptions;

export abstract class EngineError extends CodedError {}

/** The caller's input cannot be processed: empty text, too long, out-of-range options. */
export class BadInputError extends EngineError {
  readonly code = 'BAD_INPUT';
}

/** The queue (or the caller's share of it) is full; the job was refused at once instead of waiting. */
export class EngineBusyError extends EngineError {
  readonly code = 'ENGINE_BUSY';
  /** About how long until a retry is likely to be admitted. */
  readonly retryAfterMs: number;
  /** `queue`: the whole queue is full; `key`: the caller's key has its share of it waiting already. */
  readonly limit: 'queue' | 'key';

  constructor({ retryAfterMs, limit, ...options }: EngineErrorOptions & { retryAfterMs: number; limit: 'queue' | 'key' }) {
    super(options);
    this.retryAfterMs = retryAfterMs;
    this.limit = limit;
  }
}

/** Background work was asked for, but the engine has no background sequences (`backgroundSequences` 0). */
export class BackgroundDisabledError extends EngineError {
  readonly code = 'BACKGROUND_DISABLED';
}

/** The job did not finish within its time limit (queue wait included). */
export class TimeoutError extends EngineError {
  readonly code = 'TIMEOUT';
}

/** The caller aborted the job before it could produce a result. */
export class AbortedError extends EngineError {
  readonly code = 'ABORTED';
}

/** The model could not be found, downloaded, read or loaded, or the engine is shutting down. */
export class ModelUnavailableError extends EngineError {
  readonly code = 'MODEL_UNAVAILABLE';
}
