// Keeps a few conversations warm: each chat sequence remembers whose tokens it holds, least recently used goes first.
import type { LlamaContextSequence } from 'node-llama-cpp';

interface PoolEntry {
  readonly sequence: LlamaContextSequence;
  conversationKey: string | undefined;
  lastUsed: number;
  busy: boolean;
}

export interface SequenceLease {
  readonly sequence: LlamaContextSequence;
  release(): void;
}

export class SequencePool {
  readonly #entries: PoolEntry[];
  #clock = 0;

  constructor(sequences: readonly LlamaContextSequence[]) {
    this.#entries = sequences.map((sequence) => ({ sequence, conversationKey: undefined, lastUsed: 0, busy: false }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** How many conversations currently have their tokens resident. */
  get warmConversations(): number {
    return this.#entries.filter((entry) => entry.conversationKey !== undefined).length;
  }

  /**
   * Lends the sequence that already holds this conversation, else the least recently used free one.
   * The scheduler's lane capacity equals the pool size, so a free sequence always exists here.
   */
  acquire(conversationKey: string | undefined): SequenceLease {
    const free = this.#entries.filter((entry) => !entry.busy);
    const entry =
      (conversationKey === undefined ? undefined : free.find((item) => item.conversationKey === conversationKey)) ??
      free.reduce<PoolEntry | undefined>((oldest, item) => (!oldest || item.lastUsed < oldest.lastUsed ? item : oldest), undefined);
    if (!entry) throw new Error('No free chat sequence: the scheduler admitted more chat jobs than the pool holds.');
    entry.busy = true;
    entry.conversationKey = conversationKey;
    entry.lastUsed = ++this.#clock;
    let released = false;
    return {
      sequence: entry.sequence,
      release: () => {
        if (released) return;
        released = true;
        entry.busy = false;
      },
    };
  }
}
