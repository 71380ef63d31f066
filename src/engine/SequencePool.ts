// Lends context sequences that remember what they hold (a conversation, a task's instructions): a match first, else a
// free one beside busy ones, the least recently used of those. A free one may also be lent for one decode (a gap filler).
import type { LlamaContextSequence } from 'node-llama-cpp';
import { sequenceIdOf } from './sequenceIds.js';

interface PoolEntry {
  readonly sequence: LlamaContextSequence;
  /** What the sequence's tokens belong to; undefined when nothing worth keeping is resident. */
  residentKey: string | undefined;
  lastUsed: number;
  busy: boolean;
  /** Lent for one decode (`lendIdle`): not busy, but not to be acquired until given back. */
  lentIdle: boolean;
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
  /** Resolves when the sequences lent by `lendIdle` are given back; undefined while none is lent. */
  #givenBack: { promise: Promise<void>; resolve: () => void } | undefined;

  readonly #idOf: (sequence: LlamaContextSequence) => number;

  /** `idOf` gives a sequence's llama.cpp id (default: the one `takeSequences` gave it). */
  constructor(sequences: readonly LlamaContextSequence[], idOf: (sequence: LlamaContextSequence) => number = sequenceIdOf) {
    this.#idOf = idOf;
    this.#entries = sequences.map((sequence) => ({ sequence, residentKey: undefined, lastUsed: 0, busy: false, lentIdle: false }));
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
   * While a free sequence is lent for a decode (`lendIdle`), the choice waits for that decode's end, when it is given
   * back (its tokens are then what they were): the scheduler's next cycle cannot start sooner anyway. The scheduler
   * admits no more jobs than the pool has sequences, so one is always free by then.
   */
  async acquire(residentKey: string | undefined): Promise<SequenceLease> {
    while (this.#givenBack) await this.#givenBack.promise;
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

  /**
   * Lends the free sequence with llama.cpp id `sequenceId` for one decode, without changing what it is said to hold;
   * undefined when it is not this pool's, is busy or lent already. The borrower must leave its tokens as they were
   * and call `giveBack` (every lent sequence is given back at once).
   */
  lendIdle(sequenceId: number): LlamaContextSequence | undefined {
    const entry = this.#idleEntry(sequenceId);
    if (!entry) return undefined;
    entry.lentIdle = true;
    if (!this.#givenBack) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#givenBack = { promise, resolve };
    }
    return entry.sequence;
  }

  /** The sequence with llama.cpp id `sequenceId` if it is this pool's, free and not lent; nothing changes. */
  idle(sequenceId: number): LlamaContextSequence | undefined {
    return this.#idleEntry(sequenceId)?.sequence;
  }

  #idleEntry(sequenceId: number): PoolEntry | undefined {
    const entry = this.#entries.find((candidate) => this.#idOf(candidate.sequence) === sequenceId);
    return entry && !entry.busy && !entry.lentIdle ? entry : undefined;
  }

  /** Gives back every sequence `lendIdle` lent; an `acquire` waiting for them then chooses. */
  giveBack(): void {
    for (const entry of this.#entries) entry.lentIdle = false;
    const givenBack = this.#givenBack;
    this.#givenBack = undefined;
    givenBack?.resolve();
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
