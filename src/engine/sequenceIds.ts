// The llama.cpp sequence id of each of the engine's sequences: where its tokens sit in a decode's batch.
import type { LlamaContext, LlamaContextSequence } from 'node-llama-cpp';

const ids = new WeakMap<LlamaContextSequence, number>();
const taken = new WeakMap<LlamaContext, number>();

/**
 * Takes `count` more sequences from `context`, remembering each one's id. node-llama-cpp gives a context's sequences
 * the ids 0, 1, 2, … in the order they are taken (while none has been disposed, which the engine never does), and
 * keeps the id to itself; the engine takes all of them at load, through here.
 */
export function takeSequences(context: LlamaContext, count: number): LlamaContextSequence[] {
  return Array.from({ length: count }, () => {
    const id = taken.get(context) ?? 0;
    const sequence = context.getSequence();
    taken.set(context, id + 1);
    ids.set(sequence, id);
    return sequence;
  });
}

/** The id `takeSequences` gave the sequence. */
export function sequenceIdOf(sequence: LlamaContextSequence): number {
  const id = ids.get(sequence);
  if (id === undefined) throw new Error('A sequence the engine did not take through takeSequences has no known id.');
  return id;
}
