// Fair turns of prompt work between keys: the key whose prompt work took the least engine time recently goes first.

/**
 * How fast past work stops counting: a key's engine time counts half after this long. Short enough that a query's
 * own few steps never weigh on its next one a few seconds later, long enough that a key flooding the engine stays
 * behind one that asks for a step now and then.
 */
export const USAGE_HALF_LIFE_MS = 1000;

/** Keys remembered for fair turns before idle ones are forgotten (a forgotten key counts as never served). */
const MAX_REMEMBERED_KEYS = 256;

interface Usage {
  /** Decode time charged, decayed (ms). */
  ms: number;
  /** When `ms` was last brought up to date. */
  at: number;
}

/**
 * The decode time each key's prompt work took (its share of each decode, see StepBatcher), decaying with a half-life
 * of `USAGE_HALF_LIFE_MS`, less the time the key has now been waiting: least recent service first. A key that asks now
 * and then (a person's query, a chat's next message) has had little lately and goes ahead of a key with work queued,
 * and keys that all keep work queued converge on equal shares of the engine's time. Idle time earns no credit beyond a
 * clean slate and old work no lasting debt. Waiting counts so that nobody waits for ever: a stream of short-lived keys
 * (one per anonymous operation), each starting at zero, goes ahead of a key with recent work only until that key has
 * waited as long as its recent work took.
 */
export class PromptTurns {
  readonly #usage = new Map<string | undefined, Usage>();
  /** When each key now waiting started to (it had steps waiting at every choice since, and was not served). */
  #waitingSince = new Map<string | undefined, number>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * The waiting keys (in the order their first steps came), the one with the least recent engine time, less its time
   * waiting, first (ties keep that order).
   */
  inOrder(waiting: readonly (string | undefined)[]): (string | undefined)[] {
    return this.ranked(waiting).map(({ key }) => key);
  }

  /** `inOrder` with each key's standing: its recent engine time less its time waiting (ms; lower goes first). */
  ranked(waiting: readonly (string | undefined)[]): { key: string | undefined; standing: number }[] {
    const now = this.#now();
    this.#waitingSince = new Map(waiting.map((key) => [key, this.#waitingSince.get(key) ?? now]));
    const ranked = waiting.map((key) => ({ key, standing: this.#recent(key, now) - (now - this.#waitingSince.get(key)!) }));
    // A stable sort: ties keep the order their first steps came in.
    return ranked.sort((a, b) => a.standing - b.standing);
  }

  /** Adds `ms` of decode time to `key`'s recent work. */
  charge(key: string | undefined, ms: number): void {
    if (ms <= 0) return;
    const now = this.#now();
    this.#usage.set(key, { ms: this.#recent(key, now) + ms, at: now });
    // Served: its wait starts again (a key that always has work waiting is not waiting for ever).
    this.#waitingSince.delete(key);
  }

  /** Whether a key other than `key` was charged at or after `since` (on this object's clock). */
  othersSince(key: string | undefined, since: number): boolean {
    for (const [other, usage] of this.#usage) if (other !== key && usage.at >= since) return true;
    return false;
  }

  /** Keys with nothing waiting are forgotten once the map grows, so per-operation keys cannot pile up. */
  forgetIdle(waiting: ReadonlySet<string | undefined>): void {
    if (this.#usage.size <= MAX_REMEMBERED_KEYS) return;
    for (const key of this.#usage.keys()) if (!waiting.has(key)) this.#usage.delete(key);
  }

  #recent(key: string | undefined, now: number): number {
    const usage = this.#usage.get(key);
    if (!usage) return 0;
    return usage.ms * 2 ** (-(now - usage.at) / USAGE_HALF_LIFE_MS);
  }
}
