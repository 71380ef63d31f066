// Fair turns of prompt work between keys: fair queuing by prompt tokens evaluated, with a small credit for newcomers.

/** How far below the least served waiting key a key that starts waiting is placed: about one short text. */
const NEWCOMER_CREDIT_TOKENS = 64;

/** Keys remembered for fair turns before idle ones are forgotten (a forgotten key counts as never served). */
const MAX_REMEMBERED_KEYS = 256;

/**
 * Prompt tokens each key has had evaluated (a step that evaluates nothing counts one), on a shared scale: a key that
 * starts waiting again is moved up to just below the key served last (the clock), so idle time earns no credit and
 * old work earns no debt. Keys are few (API keys) or short-lived (operations).
 */
export class PromptTurns {
  readonly #served = new Map<string | undefined, number>();
  /** The count of the key whose prompt work ran last. */
  #clock = 0;
  /** Keys whose prompt steps were waiting at the previous choice. */
  #wasWaiting = new Set<string | undefined>();

  /**
   * The waiting keys (in the order their first steps came), the one with the fewest prompt tokens evaluated first
   * (ties keep that order). A key that was not waiting at the previous choice starts a little below the key served
   * last — a newcomer goes first, and its next steps (a saved state's load, then its text) follow without another
   * key's decode in between — unless its own recent work already put it further on.
   */
  inOrder(waiting: readonly (string | undefined)[]): (string | undefined)[] {
    for (const key of waiting) {
      if (this.#wasWaiting.has(key)) continue;
      const start = this.#clock - NEWCOMER_CREDIT_TOKENS;
      this.#served.set(key, Math.max(this.#served.get(key) ?? start, start));
    }
    this.#wasWaiting = new Set(waiting);
    // A stable sort: ties keep the order their first steps came in.
    return [...waiting].sort((a, b) => (this.#served.get(a) ?? 0) - (this.#served.get(b) ?? 0));
  }

  charge(key: string | undefined, cost: number): void {
    if (cost === 0) return;
    this.#clock = (this.#served.get(key) ?? this.#clock) + cost;
    this.#served.set(key, this.#clock);
  }

  /** Keys with nothing waiting are forgotten once the map grows, so per-operation keys cannot pile up. */
  forgetIdle(waiting: ReadonlySet<string | undefined>): void {
    if (this.#served.size <= MAX_REMEMBERED_KEYS) return;
    for (const key of this.#served.keys()) if (!waiting.has(key)) this.#served.delete(key);
  }
}
