// Counts generated tokens and reports the recent generation rate for the status snapshot.

/** Tokens remembered for the recent rate; about ten seconds of decoding on a small CPU. */
const WINDOW_TOKENS = 256;
/** Timestamps older than this no longer count as "recent". */
const WINDOW_MS = 10_000;

export class TokenRateMeter {
  #total = 0;
  readonly #times: number[] = [];

  get total(): number {
    return this.#total;
  }

  record(now = performance.now()): void {
    this.#total += 1;
    this.#times.push(now);
    if (this.#times.length > WINDOW_TOKENS) this.#times.shift();
  }

  /** Tokens per second over the recent window; 0 when nothing was generated lately. */
  recentRate(now = performance.now()): number {
    const recent = this.#times.filter((time) => now - time <= WINDOW_MS);
    if (recent.length < 2) return 0;
    const span = recent.at(-1)! - recent[0]!;
    return span > 0 ? ((recent.length - 1) * 1000) / span : 0;
  }
}
