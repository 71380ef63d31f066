// Brings a sequence's KV cache to a given token prefix, evaluating only what is not already resident.
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { JobContext } from './Scheduler.js';
import { sequenceIdOf } from './sequenceIds.js';

/** Prompt tokens evaluated per mutex step: small enough that other jobs get a turn during a long prompt. */
export const PROMPT_CHUNK_TOKENS = 32;
/** A remainder this short (a quarter of a chunk, whatever the chunk's size) joins the last chunk. */
export const MERGED_REMAINDER_TOKENS = PROMPT_CHUNK_TOKENS / 4;

export interface SyncedSequence<T> {
  /** What `finalStep` returned. */
  value: T;
  /** Prompt tokens evaluated, the final chunk included; the rest was reused from the KV cache. */
  evaluated: number;
}

/**
 * Makes the sequence hold `tokens` by keeping the longest resident prefix and evaluating the rest in chunks,
 * one scheduler step each (a chunk is `job.promptChunkTokens`, else PROMPT_CHUNK_TOKENS). A remainder up to a
 * quarter of a chunk joins the last chunk instead of taking a decode of its own: every decode reads all the weights
 * once, which costs about a token-time however few tokens it evaluates. The last chunk (at least the last token,
 * whose distribution the caller needs, at most a chunk plus a short remainder) is handed to `finalStep`, which evaluates it in the same decode that samples or reads the next token: a
 * separate decode for that one token would cost a whole token-time. Erasing stale tokens shares the first
 * step, so a short prompt is a single step. Whatever a previous (possibly aborted) job left behind is
 * reconciled here, so callers never need to clean up.
 */
export async function syncSequence<T>(
  job: JobContext,
  sequence: LlamaContextSequence,
  tokens: readonly Token[],
  finalStep: (pending: Token[]) => Promise<T>,
): Promise<SyncedSequence<T>> {
  const wanted = [...tokens];
  if (wanted.length === 0) throw new Error('syncSequence needs at least one token.');
  const reusable = Math.min(sequence.compareContextTokens(wanted).firstDifferentIndex, wanted.length - 1);
  let stale = sequence.nextTokenIndex > reusable;
  const eraseStale = async (): Promise<void> => {
    if (!stale) return;
    stale = false;
    await sequence.eraseContextTokenRanges([{ start: reusable, end: sequence.nextTokenIndex }]);
  };

  let start = reusable;
  // Asked again before every chunk: a background job's chunks shrink while the engine is in use (see JobContext).
  const chunkSize = (): number => job.promptChunkTokens ?? PROMPT_CHUNK_TOKENS;
  for (let size = chunkSize(); wanted.length - start > size + size / 4; start += size, size = chunkSize()) {
    const chunk = wanted.slice(start, start + size);
    await job.step(
      async () => {
        await eraseStale();
        await sequence.evaluateWithoutGeneratingNewTokens(chunk);
      },
      { tokens: chunk.length, generating: false, sequence: sequenceIdOf(sequence) },
    );
  }
  const pending = wanted.slice(start);
  const value = await job.step(
    async () => {
      await eraseStale();
      return finalStep(pending);
    },
    { tokens: pending.length, generating: false, sequence: sequenceIdOf(sequence) },
  );
  return { value, evaluated: wanted.length - reusable };
}
