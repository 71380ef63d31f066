// A folder of prefix states kept across restarts and shared by one host's processes: files named by what they hold,
// written whole or not at all, and dropped when no start has used them for a month.
import { createHash } from 'node:crypto';
import { mkdir, readdir, realpath, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Token } from 'node-llama-cpp';
import { isProcessRunning } from '../isProcessRunning.js';

/** A state no start has loaded for this long belongs to instructions (or a model) no longer in use. */
export const STATE_CACHE_MAX_AGE_MS = 30 * 24 * 3_600_000;

const PARTIAL = /\.(\d+)\.\d+\.partial$/;
let partials = 0;

/**
 * Makes `dir` (`root`'s sub-folder for one model and runtime) and tidies all of `root`: files unused for
 * `STATE_CACHE_MAX_AGE_MS`, half-written files of processes that are gone, and folders left empty.
 */
export async function openStateCache(root: string, dir: string, now = Date.now()): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const folder of await readdir(root)) {
    const folderPath = path.join(root, folder);
    const names = await readdir(folderPath).catch(() => undefined);
    if (names === undefined) continue;
    for (const name of names) {
      const file = path.join(folderPath, name);
      const partial = PARTIAL.exec(name);
      const stale = partial
        ? !isProcessRunning(Number(partial[1]))
        : now - ((await stat(file).catch(() => undefined))?.mtimeMs ?? now) > STATE_CACHE_MAX_AGE_MS;
      if (stale) await rm(file, { force: true }).catch(() => undefined);
    }
    if (folderPath !== dir && (await readdir(folderPath).catch(() => [''])).length === 0) {
      await rm(folderPath, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** The file that holds (or will hold) the state of exactly these tokens. */
export function cachedStateFile(dir: string, tokens: readonly Token[]): string {
  const digest = createHash('sha256').update(Uint32Array.from(tokens)).digest('hex').slice(0, 32);
  return path.join(dir, `${digest}.state`);
}

/** Writes through a file of its own, renamed into place: a reader sees a whole state or none, never a half. */
export async function writeCachedState(file: string, write: (partial: string) => Promise<unknown>): Promise<void> {
  const partial = `${file}.${process.pid}.${(partials += 1)}.partial`;
  try {
    await write(partial);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}

/** Marks a state as used, so the monthly tidying keeps it. */
export async function touchCachedState(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now).catch(() => undefined);
}

/** Everything a saved state depends on besides its tokens; a state saved under another identity may crash a load. */
export interface StateCacheIdentity {
  modelPath: string;
  /** The llama.cpp release and build that wrote the states (their format and the kernels behind them). */
  llamaCpp: string;
  kvCacheType: string;
}

/** The cache's sub-folder for this identity: the model file by its real path, size and modification time. */
export async function stateCacheKey(identity: StateCacheIdentity): Promise<string> {
  const model = await stat(identity.modelPath);
  const described = { ...identity, modelPath: await realpath(identity.modelPath), size: model.size, mtimeMs: model.mtimeMs };
  return createHash('sha256').update(JSON.stringify(described)).digest('hex').slice(0, 16);
}
