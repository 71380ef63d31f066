// Background work's minimum share of the engine: while interactive work keeps it busy, waiting background steps are
// owed a fraction of the decode time it takes, and get a small decode of their own once they are owed enough.

/**
 * How much decode time background work must be owed before it takes a decode while the engine is busy: about one
 * small background decode (16 prompt tokens took 35–50 ms on the stand-in, 2 cores). At a share of 5% that is one
 * such decode per second of interactive decoding.
 */
export const BACKGROUND_TURN_MS = 50;

/** The most that can be owed: a backlog never buys more than two small decodes in a row. */
const MOST_OWED_MS = 2 * BACKGROUND_TURN_MS;

/**
 * Keeps what background work is owed. Without a share (0) it is never owed anything: background steps then run only on
 * spare capacity, and a service that is never idle never advances its analysis jobs.
 */
export class BackgroundShare {
  readonly #share: number;
  #owedMs = 0;

  /** `share`: the fraction of busy decode time owed to waiting background work, from 0 to 0.5. */
  constructor(share: number) {
    if (!(share >= 0 && share <= 0.5)) throw new RangeError(`A background share is from 0 to 0.5; got ${share}.`);
    this.#share = share;
  }

  /** Background work is owed a decode now (it waits, and interactive decodes have run long enough meanwhile). */
  get due(): boolean {
    return this.#share > 0 && this.#owedMs >= BACKGROUND_TURN_MS;
  }

  /** An interactive decode took `elapsedMs` while background steps waited. */
  heldBack(elapsedMs: number): void {
    this.#owedMs = Math.min(MOST_OWED_MS, this.#owedMs + elapsedMs * this.#share);
  }

  /**
   * A background decode took `elapsedMs`: one taken because it was `due` pays back its time; one on spare capacity
   * settles everything (the engine had room for it anyway).
   */
  served(elapsedMs: number, due: boolean): void {
    this.#owedMs = due ? Math.max(0, this.#owedMs - elapsedMs) : 0;
  }
}
