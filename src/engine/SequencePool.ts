// Lends context sequences that remember what they hold (a conversation, a task's instructions): a match first, else a
// free one beside busy ones, the least recently used of those.
import type { LlamaContextSequence } from 'node-llama-cpp';

interface PoolEntry {
  readonly sequence: LlamaContextSequence;
  /** What the sequence's tokens belong to; undefined when nothing worth keeping is resident. */
  residentKey: string | undefined;
  lastUsed: number;
  busy: boolean;
}

export interface SequenceLease {
  readonly sequence: LlamaContextSequence;
  /** Whether the sequence already held `residentKey` when it was lent (its tokens can be reused). */
  readonly warm: boolean;
  release(): void;
}

export class SequencePool {
  readonly #entries: PoolEntry[];
  #clock = 0;

  constructor(sequences: readonly LlamaContextSequence[]) {
    this.#entries = sequences.map((sequence) => ({ sequence, residentKey: undefined, lastUsed: 0, busy: false }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** How many sequences hold something a later job can reuse. */
  get resident(): number {
    return this.#entries.filter((entry) => entry.residentKey !== undefined).length;
  }

  /**
   * Lends the free sequence that already holds `residentKey`, else another free one, which from then on holds
   * `residentKey`: of those with the most busy neighbours (the pool's sequences have consecutive ids), the least
   * recently used. Busy sequences side by side keep a decode of their tokens one pass over the weights (see
   * StepBatcher); a returning conversation may then find its sequence taken a little sooner than strictly last.
   * The scheduler admits no more jobs than the pool has sequences, so one is always free.
   */
  acquire(residentKey: string | undefined): SequenceLease {
    const match =
      residentKey === undefined ? undefined : this.#entries.find((entry) => !entry.busy && entry.residentKey === residentKey);
    const entry = match ?? this.#besideBusy();
    if (!entry) throw new Error('No free sequence: the scheduler admitted more jobs than the pool holds.');
    entry.busy = true;
    entry.residentKey = residentKey;
    entry.lastUsed = ++this.#clock;
    let released = false;
    return {
      sequence: entry.sequence,
      warm: match !== undefined,
      release: () => {
        if (released) return;
        released = true;
        entry.busy = false;
      },
    };
  }

  /** The free entry with the most busy neighbours, the least recently used of those. */
  #besideBusy(): PoolEntry | undefined {
    let best: { entry: PoolEntry; neighbours: number } | undefined;
    this.#entries.forEach((entry, index) => {
      if (entry.busy) return;
      const neighbours = Number(this.#entries[index - 1]?.busy === true) + Number(this.#entries[index + 1]?.busy === true);
      if (!best || neighbours > best.neighbours || (neighbours === best.neighbours && entry.lastUsed < best.entry.lastUsed)) {
        best = { entry, neighbours };
      }
    });
    return best?.entry;
  }
}
