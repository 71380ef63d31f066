// Jobs waiting for a lane: first come first served within a key, and the key served longest ago goes next.

export interface QueuedItem {
  readonly lane: string;
  /** Whose job it is (an API key's fingerprint); all jobs without a key share one turn. */
  readonly key: string | undefined;
}

/**
 * A waiting line that serves keys in turn: when a lane frees up, it goes to the oldest job of the key that was
 * served longest ago (a key never served first), so a key with sixteen jobs waiting cannot push another key's one
 * job behind all of them. With a single key (no API keys configured) it is plain FIFO.
 */
export class FairQueue<T extends QueuedItem> {
  /** Waiting items with their arrival number, oldest first. */
  readonly #items: { item: T; arrival: number }[] = [];
  /** When each key was last served (a running count); keys are few, one per configured API key. */
  readonly #lastServed = new Map<string | undefined, number>();
  #arrivals = 0;
  #served = 0;

  get size(): number {
    return this.#items.length;
  }

  /** Items waiting for this key. */
  countFor(key: string | undefined): number {
    return this.#items.filter(({ item }) => item.key === key).length;
  }

  /** Items waiting for this lane. */
  countIn(lane: string): number {
    return this.#items.filter(({ item }) => item.lane === lane).length;
  }

  push(item: T): void {
    this.#items.push({ item, arrival: (this.#arrivals += 1) });
  }

  /** Puts an item ahead of everything waiting (a job resuming after it yielded: it was admitted before them). */
  pushFront(item: T): void {
    this.#items.unshift({ item, arrival: 0 });
  }

  /** Whether an item of another key waits for `lane` (and passes `eligible`). */
  hasOtherKey(lane: string, key: string | undefined, eligible: (item: T) => boolean = () => true): boolean {
    return this.#items.some(({ item }) => item.lane === lane && item.key !== key && eligible(item));
  }

  /** Takes an item out wherever it stands (aborted, refused); false when it was not waiting. */
  remove(item: T): boolean {
    const index = this.#items.findIndex((entry) => entry.item === item);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /**
   * The next item for `lane`: the oldest eligible item of the key served longest ago (ties: whose item came first).
   * `eligible` passes over items that cannot start now (a long job while long jobs fill their share of the lane).
   */
  takeFor(lane: string, eligible: (item: T) => boolean = () => true): T | undefined {
    let best: { item: T; arrival: number } | undefined;
    const seen = new Set<string | undefined>();
    for (const entry of this.#items) {
      if (entry.item.lane !== lane || seen.has(entry.item.key) || !eligible(entry.item)) continue;
      // The first item of a key met in arrival order is that key's oldest in this lane.
      seen.add(entry.item.key);
      if (!best || this.#servedAt(entry.item.key) < this.#servedAt(best.item.key)) best = entry;
    }
    if (!best) return undefined;
    this.remove(best.item);
    this.#lastServed.set(best.item.key, (this.#served += 1));
    return best.item;
  }

  /** Every waiting item, in arrival order. */
  all(): T[] {
    return this.#items.map(({ item }) => item);
  }

  #servedAt(key: string | undefined): number {
    return this.#lastServed.get(key) ?? 0;
  }
}
