// Throwaway tokens on idle sequences in the gaps of a decode of single tokens, so llama.cpp makes it one pass.
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { SequencePool } from './SequencePool.js';
import type { GapFill, GapFilling } from './StepBatcher.js';

/**
 * The widest gap filled. With a KV cache per sequence, llama.cpp splits a batch into passes over the weights that each
 * take consecutive sequence ids, so seven replies on sequences 2–4 and 6–9 cost two passes a token: 72 ms a step
 * against 48–50 ms with one throwaway token on 5 (node-llama-cpp alone on the 0.5B stand-in, 2 cores, 2026-12-07;
 * eight replies in one pass took 49 ms). A pass costs about a token-time (~20 ms); each filler about 3 ms.
 */
export const MAX_GAP_FILLERS = 3;

/** Whatever token: it is evaluated where no one reads it and erased right after. */
const FILLER_TOKEN = 0 as Token;

/**
 * Every sequence id lies in one of the pools; an idle one (free, not lent) with room for one more token can fill a
 * gap. It is lent for the decode, gets the filler token at its end and loses it again before it is given back, so what
 * it holds (a warm conversation, a task's instructions) is unchanged; a job that asks for a sequence meanwhile waits for
 * the decode's end (SequencePool.acquire).
 */
export class GapFillers {
  readonly #pools: readonly SequencePool[];
  readonly #contextSize: number;

  constructor(pools: readonly SequencePool[], contextSize: number) {
    this.#pools = pools;
    this.#contextSize = contextSize;
  }

  /** Fillers for the gaps of at most MAX_GAP_FILLERS idle sequences between `sequences` (ascending ids); undefined: none. */
  fill(sequences: readonly number[]): GapFilling | undefined {
    const fills: GapFill[] = [];
    for (let index = 1; index < sequences.length; index += 1) {
      const from = sequences[index - 1]! + 1;
      const to = sequences[index]!;
      if (to <= from || to - from > MAX_GAP_FILLERS) continue;
      const gap = range(from, to);
      if (!gap.every((id) => this.#idle(id))) continue;
      for (const id of gap) {
        const sequence = this.#lend(id)!;
        fills.push({ sequence: id, run: () => fillOnce(sequence) });
      }
    }
    if (fills.length === 0) return undefined;
    return { fills, giveBack: () => this.#pools.forEach((pool) => pool.giveBack()) };
  }

  #idle(id: number): boolean {
    const sequence = this.#pools.map((pool) => pool.idle(id)).find((found) => found !== undefined);
    // node-llama-cpp shifts the context (erasing its start) to make room for a token beyond the last but one.
    return sequence !== undefined && sequence.nextTokenIndex < this.#contextSize - 2;
  }

  #lend(id: number): LlamaContextSequence | undefined {
    return this.#pools.map((pool) => pool.lendIdle(id)).find((found) => found !== undefined);
  }
}

/** Evaluates the filler token at the sequence's end (no logits) and erases it, whatever happened. */
async function fillOnce(sequence: LlamaContextSequence): Promise<void> {
  const end = sequence.nextTokenIndex;
  try {
    await sequence.controlledEvaluate([FILLER_TOKEN]);
  } finally {
    if (sequence.nextTokenIndex > end) await sequence.eraseContextTokenRanges([{ start: end, end: sequence.nextTokenIndex }]);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, offset) => from + offset);
}
