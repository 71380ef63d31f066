// The files a service bundle was built from, kept beside it, so `npm start` can tell whether it must build again.
// Plain JavaScript (its types in buildInputs.d.mts): prestart.mjs runs it without a TypeScript loader.
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const MANIFEST = 'build-inputs.json';

/** Writes the size and modification time of each of `files` into `dir`'s manifest. */
export async function recordBuildInputs(dir, files) {
  const inputs = await Promise.all([...new Set(files)].map(async (file) => ({ file, ...(await identity(file)) })));
  await writeFile(path.join(dir, MANIFEST), `${JSON.stringify({ inputs }, null, 1)}\n`);
}

/**
 * Whether `dir` holds a bundle built from the files as they are now: every file named by its manifest is still there
 * with the same size and modification time (as `make` decides; a file changed in place keeps neither).
 */
export async function buildInputsUnchanged(dir) {
  let manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(manifest?.inputs) || manifest.inputs.length === 0) return false;
  const checks = await Promise.all(
    manifest.inputs.map(async ({ file, size, mtimeMs }) => {
      const now = await identity(file).catch(() => undefined);
      return now !== undefined && now.size === size && now.mtimeMs === mtimeMs;
    }),
  );
  return checks.every(Boolean);
}

async function identity(file) {
  const { size, mtimeMs } = await stat(file);
  return { size, mtimeMs };
}
