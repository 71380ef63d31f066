// Greedy generation of a short answer to a whole prompt on a task sequence: what a generate-and-parse method needs.
import type { Token } from 'node-llama-cpp';
import { assertFits, jobOptionsOf } from './admission.js';
import type { EngineRuntime } from './EngineRuntime.js';
import { generateTokens } from './generateTokens.js';
import { sequenceIdOf } from './sequenceIds.js';
import type { PromptPart } from './prompts.js';
import { submitReported } from './submitReported.js';
import { tokenizeParts } from './tokenizeParts.js';
import type { Completion, JobOptions } from './types.js';

export interface CompleteOptions extends JobOptions {
  /** Most tokens generated; the answer may end sooner. */
  maxTokens: number;
}

/**
 * Nothing of the prompt is reused (the sequence is cleared first), so every call pays for the whole prompt: the cost
 * of a method without saved instructions. A job of kind `extract`: like an extraction, it generates greedily on a
 * task sequence and holds it meanwhile, so it is a long job (see Scheduler).
 */
export function complete(runtime: EngineRuntime, prompt: readonly PromptPart[], options: CompleteOptions): Promise<Completion> {
  const { model, scheduler, hooks, taskPool, contextSize } = runtime;
  const promptTokens = tokenizeParts(model, prompt);
  assertFits(contextSize, promptTokens.length + options.maxTokens, 'text');
  return submitReported(scheduler, hooks, { kind: 'extract', lane: 'task', long: true, ...jobOptionsOf(options) }, async (job) => {
    const startedAt = performance.now();
    const lease = await taskPool.acquire(undefined);
    try {
      await job.step(() => lease.sequence.clearHistory(), { tokens: 0, generating: false, sequence: sequenceIdOf(lease.sequence) });
      const generated: Token[] = [];
      let evaluated = 0;
      const tokens = generateTokens(job, lease.sequence, promptTokens, { temperature: 0 }, (count) => {
        evaluated = count;
      });
      for await (const token of tokens) {
        generated.push(token);
        if (generated.length >= options.maxTokens) break;
      }
      return { text: model.detokenize(generated), promptTokens: evaluated, tokens: generated.length, latencyMs: performance.now() - startedAt };
    } finally {
      lease.release();
    }
  });
}
