// Brings a sequence's KV cache to a given token prefix, evaluating only what is not already resident.
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { JobContext } from './Scheduler.js';

/** Prompt tokens evaluated per mutex step: small enough that other jobs get a turn during a long prompt. */
export const PROMPT_CHUNK_TOKENS = 64;

/**
 * Makes the sequence hold exactly `tokens` by keeping the longest resident prefix and evaluating the rest
 * in chunks, one scheduler step each. Whatever a previous (possibly aborted) job left behind is reconciled
 * here, so callers never need to clean up. Returns how many tokens were evaluated.
 */
export async function syncSequence(
  job: JobContext,
  sequence: LlamaContextSequence,
  tokens: readonly Token[],
): Promise<number> {
  const wanted = [...tokens];
  const reusable = Math.min(sequence.compareContextTokens(wanted).firstDifferentIndex, wanted.length);
  if (sequence.nextTokenIndex > reusable) {
    await job.step(() => sequence.eraseContextTokenRanges([{ start: reusable, end: sequence.nextTokenIndex }]));
  }
  for (let start = reusable; start < wanted.length; start += PROMPT_CHUNK_TOKENS) {
    const chunk = wanted.slice(start, start + PROMPT_CHUNK_TOKENS);
    await job.step(() => sequence.evaluateWithoutGeneratingNewTokens(chunk));
  }
  return wanted.length - reusable;
}
