// The one token loop: brings a sequence to a prompt, then yields each generated token, every next one a scheduler step.
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { JobContext } from './Scheduler.js';
import { sequenceIdOf } from './sequenceIds.js';
import { STARTING_REPLY_TOKENS } from './StepBatcher.js';
import { syncSequence } from './syncSequence.js';

export type EvaluateOptions = NonNullable<Parameters<LlamaContextSequence['evaluate']>[1]>;

/** The next token of a streamed reply: it joins every cycle, beside the other replies' tokens, so its pace holds. */
const STREAMED_TOKEN = { tokens: 1, generating: true } as const;
/**
 * The next token of an answer nobody watches arrive (an extraction's, returned whole): a one-token step that takes its
 * fair turn like a prompt chunk, so another key's short query is not made to share every decode with it.
 */
const UNSTREAMED_TOKEN = { tokens: 1, generating: false } as const;

/**
 * Yields tokens until the model ends its answer; a caller stops earlier by leaving its `for await` (no step is taken
 * for a token nobody asked for). node-llama-cpp's generator is closed in `finally` whichever way the loop ends (done,
 * left, or a step refused by an abort, a timeout or shutdown), so the sequence is never left mid-evaluation.
 * The prompt's last chunk and the first token are one decode; `onPromptEvaluated` is told how many prompt tokens
 * were evaluated (the rest was reused from the KV cache).
 */
export async function* generateTokens(
  job: JobContext,
  sequence: LlamaContextSequence,
  promptTokens: readonly Token[],
  options: EvaluateOptions,
  onPromptEvaluated: (evaluated: number) => void,
): AsyncGenerator<Token, void, undefined> {
  let generator: ReturnType<LlamaContextSequence['evaluate']> | undefined;
  try {
    const synced = await syncSequence(job, sequence, promptTokens, (pending) => {
      generator = sequence.evaluate(pending, options);
      return generator.next();
    });
    onPromptEvaluated(synced.evaluated);
    let next = synced.value;
    const streamed = job.kind === 'chat';
    const tokenStep = { ...(streamed ? STREAMED_TOKEN : UNSTREAMED_TOKEN), sequence: sequenceIdOf(sequence) };
    const startingStep = { ...tokenStep, starting: streamed };
    for (let generated = 1; !next.done; generated += 1) {
      yield next.value;
      next = await job.step(() => generator!.next(), generated < STARTING_REPLY_TOKENS ? startingStep : tokenStep);
    }
  } finally {
    await generator?.return();
  }
}
