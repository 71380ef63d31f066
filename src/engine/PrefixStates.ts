// Saved KV states of constant prompt prefixes (a task's instructions), loaded into whichever sequence runs the task.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { JobContext } from './Scheduler.js';
import { syncSequence } from './syncSequence.js';

/** How a prefix became resident: it already was, its saved state was loaded, or it was evaluated (and then saved). */
export type PrefixRestore = 'resident' | 'loaded' | 'evaluated';

/** A prefix's state is a few hundred kilobytes; loading it costs far less than evaluating its tokens again. */
const NO_TOKENS = { tokens: 0, generating: false } as const;

/**
 * A handful of task sequences serve every task: instead of keeping one sequence per task and language warm, each
 * prefix is evaluated once, its state saved to a file in a private temporary folder, and loaded into a sequence
 * when it does not already hold that prefix. The files (and the folder) go when the engine is disposed.
 */
export class PrefixStates {
  readonly #dir: string;
  readonly #saved = new Map<string, { file: string; tokens: readonly Token[] }>();
  #count = 0;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async create(): Promise<PrefixStates> {
    return new PrefixStates(await mkdtemp(path.join(os.tmpdir(), 'all-in-one-prefixes-')));
  }

  /** Prefix states saved so far. */
  get size(): number {
    return this.#saved.size;
  }

  /** Makes `sequence` begin with `tokens`, the prefix called `key`, evaluating them only the first time ever. */
  async restore(
    job: JobContext,
    sequence: LlamaContextSequence,
    key: string,
    tokens: readonly Token[],
  ): Promise<PrefixRestore> {
    if (startsWith(sequence.contextTokens, tokens)) return 'resident';
    const saved = this.#saved.get(key);
    if (saved && sameTokens(saved.tokens, tokens)) {
      await job.step(() => sequence.loadStateFromFile(saved.file, { acceptRisk: true }), NO_TOKENS);
      return 'loaded';
    }
    await syncSequence(job, sequence, tokens, (pending) => sequence.evaluateWithoutGeneratingNewTokens(pending));
    const file = path.join(this.#dir, `prefix-${(this.#count += 1)}.state`);
    await job.step(() => sequence.saveStateToFile(file), NO_TOKENS);
    this.#saved.set(key, { file, tokens: [...tokens] });
    return 'evaluated';
  }

  async dispose(): Promise<void> {
    this.#saved.clear();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

function startsWith(tokens: readonly Token[], prefix: readonly Token[]): boolean {
  if (tokens.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index += 1) if (tokens[index] !== prefix[index]) return false;
  return true;
}

function sameTokens(a: readonly Token[], b: readonly Token[]): boolean {
  return a.length === b.length && startsWith(a, b);
}
