// Saved KV states of constant prompt prefixes (a task's instructions), loaded into whichever sequence runs the task.
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { isProcessRunning } from '../isProcessRunning.js';
import { sequenceIdOf } from './sequenceIds.js';
import type { JobContext } from './Scheduler.js';
import { cachedStateFile, openStateCache, touchCachedState, writeCachedState } from './stateCache.js';
import { syncSequence } from './syncSequence.js';

/**
 * How a prefix became resident: it already was, a saved state was loaded (saved by this process, or found in the
 * cache folder), or it was evaluated (and then saved).
 */
export type PrefixRestore = 'resident' | 'loaded' | 'evaluated';

/** A prefix's state is a few hundred kilobytes; loading it costs far less than evaluating its tokens again. */
function noTokensOn(sequence: LlamaContextSequence) {
  return { tokens: 0, generating: false, sequence: sequenceIdOf(sequence) } as const;
}

/** Every folder's name starts so, then says on which host and by which process it was made. */
const FOLDER_PREFIX = 'all-in-one-prefixes-';
const FOLDER_NAME = /^all-in-one-prefixes-([0-9a-f]{8})-(\d+)-/;

export interface PrefixStatesOptions {
  /** Where the private folder is made (and abandoned ones are looked for); default: the system's temporary folder. */
  parent?: string;
  /**
   * Keep the states across restarts in `root`/`key` instead of a private folder: `key` must name everything a state
   * depends on (the model file, the llama.cpp build, the KV cache type), since loading another model's state can
   * crash the process.
   */
  cache?: { root: string; key: string };
}

/**
 * A handful of task sequences serve every task: instead of keeping one sequence per task and language warm, each
 * prefix is evaluated once, its state saved to a file, and loaded into a sequence when it does not already hold that
 * prefix. With a cache folder the files stay for the next start, which loads them instead of evaluating. Without one
 * they live in a private temporary folder that goes when the engine is disposed; a process that never got there
 * (`kill -9`, a crash, an exit during load) leaves its folder, which the next one removes.
 */
export class PrefixStates {
  readonly #dir: string;
  /** Whether `#dir` is the shared cache folder (kept) rather than a private one (removed on dispose). */
  readonly #cached: boolean;
  readonly #saved = new Map<string, { file: string; tokens: readonly Token[] }>();
  /** Prefixes being evaluated and saved now, by key: another restore of one waits to load it instead. */
  readonly #evaluating = new Map<string, { tokens: readonly Token[]; done: Promise<unknown> }>();
  #count = 0;

  private constructor(dir: string, cached: boolean) {
    this.#dir = dir;
    this.#cached = cached;
  }

  static async create(options: PrefixStatesOptions = {}): Promise<PrefixStates> {
    if (options.cache) {
      const dir = path.join(options.cache.root, options.cache.key);
      await openStateCache(options.cache.root, dir);
      return new PrefixStates(dir, true);
    }
    const parent = options.parent ?? os.tmpdir();
    await removeAbandoned(parent);
    return new PrefixStates(await mkdtemp(path.join(parent, `${FOLDER_PREFIX}${HOST_TAG}-${process.pid}-`)), false);
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
    // Several jobs meeting one new prefix at once (conversations opened together): one evaluates it, the others wait
    // for its state instead of evaluating the same tokens beside it. If that job fails, the next one evaluates.
    const evaluating = this.#evaluating.get(key);
    if (evaluating && sameTokens(evaluating.tokens, tokens)) await untilDoneOrAborted(evaluating.done, job.signal);
    const saved = this.#saved.get(key);
    const known = saved && sameTokens(saved.tokens, tokens) ? saved.file : undefined;
    const file = known ?? (this.#cached ? cachedStateFile(this.#dir, tokens) : undefined);
    if (file !== undefined && (await this.#load(job, sequence, file, known === undefined))) {
      this.#saved.set(key, { file, tokens: [...tokens] });
      return 'loaded';
    }
    const done = this.#evaluate(job, sequence, key, tokens);
    const entry = { tokens, done };
    this.#evaluating.set(key, entry);
    try {
      await done;
    } finally {
      if (this.#evaluating.get(key) === entry) this.#evaluating.delete(key);
    }
    return 'evaluated';
  }

  /** Evaluates the prefix in `sequence` and saves its state. */
  async #evaluate(job: JobContext, sequence: LlamaContextSequence, key: string, tokens: readonly Token[]): Promise<void> {
    await syncSequence(job, sequence, tokens, (pending) => sequence.evaluateWithoutGeneratingNewTokens(pending));
    const target = this.#cached
      ? cachedStateFile(this.#dir, tokens)
      : path.join(this.#dir, `prefix-${(this.#count += 1)}.state`);
    const save = (to: string) => sequence.saveStateToFile(to);
    await job.step(async () => {
      // The folder may have been removed meanwhile (by hand, by a tidy-up of the temporary folder).
      await mkdir(this.#dir, { recursive: true });
      // Cached states are shared with other processes, which must never read one half written.
      if (this.#cached) await writeCachedState(target, save);
      else await save(target);
    }, noTokensOn(sequence));
    this.#saved.set(key, { file: target, tokens: [...tokens] });
  }

  async dispose(): Promise<void> {
    this.#saved.clear();
    if (!this.#cached) await rm(this.#dir, { recursive: true, force: true });
  }

  /**
   * Loads a saved state; false when the file is gone or unreadable (a cache entry never written, or removed since —
   * by a tidy-up of the temporary folder, by hand), so the caller evaluates instead of failing the task. A cache
   * file is marked used the first time this process loads it.
   */
  async #load(job: JobContext, sequence: LlamaContextSequence, file: string, first: boolean): Promise<boolean> {
    if (!(await access(file).then(() => true, () => false))) return false;
    const loaded = await job.step(async () => {
      // Emptied first: a file llama.cpp refuses leaves the sequence's cache as it was, while node-llama-cpp no
      // longer knows what it holds, and the next evaluation would fail.
      await sequence.clearHistory();
      try {
        await sequence.loadStateFromFile(file, { acceptRisk: true });
        return true;
      } catch {
        return false;
      }
    }, noTokensOn(sequence));
    if (loaded && first && this.#cached) await touchCachedState(file);
    return loaded;
  }
}

/** Waits for `done` to settle (whichever way), or throws the job's abort reason first. */
async function untilDoneOrAborted(done: Promise<unknown>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([done.then(() => undefined, () => undefined), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
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
    if (pid === process.pid || isProcessRunning(pid)) continue;
    // Another user's folder cannot be removed (the temporary folder's sticky bit); it is theirs to clean.
    await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}
