// The job items one runner holds (claimed, not yet stored or given back): which wait for a slot, which run, and the
// switch that stops each one's run.
import type { ClaimedItem } from '../db/index.js';

export interface HeldItem {
  item: ClaimedItem;
  /** Stops its run: the runner stops, its job was cancelled, or its lease was lost. */
  controller: AbortController;
  running: boolean;
}

export class HeldItems {
  readonly #items = new Map<string, HeldItem>();
  /** Claimed and waiting for a free slot, in claim (seq) order. */
  #waiting: string[] = [];

  get size(): number {
    return this.#items.size;
  }

  get running(): number {
    let count = 0;
    for (const held of this.#items.values()) if (held.running) count += 1;
    return count;
  }

  /** Waiting or running: what counts against the runner's capacity (outcomes on their way to the database do not). */
  get inFlight(): number {
    return this.#waiting.length + this.running;
  }

  ids(): string[] {
    return [...this.#items.keys()];
  }

  get(itemId: string): HeldItem | undefined {
    return this.#items.get(itemId);
  }

  holdsJob(jobId: string): boolean {
    for (const held of this.#items.values()) if (held.item.jobId === jobId) return true;
    return false;
  }

  idsOfJob(jobId: string): string[] {
    return [...this.#items.values()].filter((held) => held.item.jobId === jobId).map((held) => held.item.id);
  }

  /** Holds items just claimed, waiting for a slot. */
  hold(items: readonly ClaimedItem[]): void {
    for (const item of items) this.#items.set(item.id, { item, controller: new AbortController(), running: false });
    this.#waiting.push(...items.map((item) => item.id));
  }

  /** The next waiting item, now marked running; undefined when none waits. */
  startNext(): HeldItem | undefined {
    for (let id = this.#waiting.shift(); id !== undefined; id = this.#waiting.shift()) {
      const held = this.#items.get(id);
      if (held) {
        held.running = true;
        return held;
      }
    }
    return undefined;
  }

  /** Stops these items' runs and forgets them (given back, lost, stored, or of a cancelled job). */
  drop(itemIds: readonly string[]): void {
    const dropped = new Set(itemIds);
    for (const id of dropped) {
      this.#items.get(id)?.controller.abort();
      this.#items.delete(id);
    }
    this.#waiting = this.#waiting.filter((id) => !dropped.has(id));
  }

  /** Stops every run; the items stay held, to be given back. */
  abortAll(): void {
    for (const held of this.#items.values()) held.controller.abort();
  }
}
