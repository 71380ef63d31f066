// Saved KV states of constant prompt prefixes (a task's instructions), loaded into whichever sequence runs the task.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { JobContext } from './Scheduler.js';
import { syncSequence } from './syncSequence.js';

/** How a prefix became resident: it already was, its saved state was loaded, or it was evaluated (and then saved). */
export type PrefixRestore = 'resident' | 'loaded' | 'evaluated';

/** A prefix's state is a few hundred kilobytes; loading it costs far less than evaluating its tokens again. */
const NO_TOKENS = { tokens: 0, generating: false } as const;

/** Every folder's name starts so, then says on which host and by which process it was made. */
const FOLDER_PREFIX = 'all-in-one-prefixes-';
const FOLDER_NAME = /^all-in-one-prefixes-([0-9a-f]{8})-(\d+)-/;

export interface PrefixStatesOptions {
  /** Where the private folder is made (and abandoned ones are looked for); default: the system's temporary folder. */
  parent?: string;
}

/**
 * A handful of task sequences serve every task: instead of keeping one sequence per task and language warm, each
 * prefix is evaluated once, its state saved to a file in a private temporary folder, and loaded into a sequence
 * when it does not already hold that prefix. The files (and the folder) go when the engine is disposed; a process
 * that never got there (`kill -9`, a crash, an exit during load) leaves its folder, which the next one removes.
 */
export class PrefixStates {
  readonly #dir: string;
  readonly #saved = new Map<string, { file: string; tokens: readonly Token[] }>();
  #count = 0;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async create(options: PrefixStatesOptions = {}): Promise<PrefixStates> {
    const parent = options.parent ?? os.tmpdir();
    await removeAbandoned(parent);
    return new PrefixStates(await mkdtemp(path.join(parent, `${FOLDER_PREFIX}${HOST_TAG}-${process.pid}-`)));
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

/**
 * The host is part of the name because process ids are only comparable on one host: a temporary folder shared by
 * containers (other pid namespaces, other host names) must not lose a live neighbour's folder.
 */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/** Removes the folders this host's processes left behind when they ended without disposing (the owner is gone). */
async function removeAbandoned(parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return; // mkdtemp in the same folder reports what is wrong with it
  }
  for (const name of names) {
    const match = FOLDER_NAME.exec(name);
    if (!match || match[1] !== HOST_TAG) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isRunning(pid)) continue;
    // Another user's folder cannot be removed (the temporary folder's sticky bit); it is theirs to clean.
    await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
