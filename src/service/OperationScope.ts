// One GraphQL operation's share of the engine: whose turn its jobs take, how much it may ask, and when its work ends.
import { ulid } from 'ulid';
import { AbortedError } from '../engine/index.js';
import { forwardAbort, type AbortSignalLike } from '../forwardAbort.js';
import { OperationTooLargeError } from './errors.js';

/** Texts one operation may send to the engine, counting a text once per task it runs: two full batches. */
export const DEFAULT_MAX_OPERATION_TEXTS = 64;

export interface OperationScopeOptions {
  /** Who the operation acts for (an API key's fingerprint), or null while auth is off. */
  owner: string | null;
  /** The client's signal (request closed, socket gone). */
  clientSignal?: AbortSignalLike;
  /** Texts (× tasks) the operation may send to the engine in all. */
  maxTexts?: number;
}

/**
 * Whatever one operation asks — aliased fields, batches, task lists — its engine work runs one call at a time under
 * one fairness key (its API key, or a key of its own when auth is off), so it counts as one client's share; its
 * texts are counted against a budget; and when its result is final (sent, failed, or the client gone) `finish()`
 * cancels what is still queued or running, and nothing finished afterwards is stored (callers check `signal`).
 */
export class OperationScope {
  readonly owner: string | null;
  /** The engine's fairness key for this operation's jobs. */
  readonly key: string;
  readonly #controller = new AbortController();
  readonly #detach: () => void;
  readonly #maxTexts: number;
  #texts = 0;
  /** The tail of this operation's engine calls, which run one after another. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: OperationScopeOptions) {
    this.owner = options.owner;
    this.key = options.owner ?? `operation:${ulid()}`;
    this.#maxTexts = options.maxTexts ?? DEFAULT_MAX_OPERATION_TEXTS;
    this.#detach = forwardAbort(options.clientSignal, this.#controller);
  }

  /** Aborted when the client goes or the operation's result is final: its engine work stops, nothing more is stored. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Counts `texts` against the budget (refused at once beyond it), then runs `work` after the operation's earlier
   * engine calls have settled.
   */
  run<T>(texts: number, work: () => Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    if (this.#texts + texts > this.#maxTexts) {
      return Promise.reject(
        new OperationTooLargeError({
          message: `This operation asks the engine for ${this.#texts + texts} texts (a text counts once per task); the limit per operation is ${this.#maxTexts}. Split it into several requests.`,
        }),
      );
    }
    this.#texts += texts;
    const result = this.#tail.then(() => {
      this.signal.throwIfAborted();
      return work();
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** The operation's result is final: whatever it still has queued or running is cancelled. */
  finish(): void {
    this.#detach();
    if (!this.signal.aborted) {
      this.#controller.abort(new AbortedError({ message: "The operation's result was already final." }));
    }
  }
}

/** The engine's fairness key of a request: the one given (its operation's), else its owner's. */
export function keyOf(request: { key?: string; owner: string | null }): { key?: string } {
  const key = request.key ?? request.owner ?? undefined;
  return key === undefined ? {} : { key };
}
