// Compiles the service (src/main.ts and everything it imports) into one plain-JavaScript file with esbuild.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Two folders below the project root, like src/<dir>/, so paths that modules resolve from their own location
 * (`../../migrations`, `../../web/`) still point at the right place. dist/ is git-ignored.
 */
export const SERVICE_BUNDLE_PATH = path.join(PROJECT_ROOT, 'dist', 'service', 'main.mjs');

/** `npm start`'s first module, beside the bundle: it sizes libuv's thread pool, then imports the bundle. */
export const START_FILE = 'start.cjs';

/** Builds the bundle at `outfile` and the start file beside it; returns the start file's path. */
export async function bundleService(outfile: string = SERVICE_BUNDLE_PATH): Promise<string> {
  const bundled = await build({
    entryPoints: { [path.basename(outfile, '.mjs')]: path.join(PROJECT_ROOT, 'src', 'main.ts') },
    outdir: path.dirname(outfile),
    outExtension: { '.js': '.mjs' },
    // Code reached only by a dynamic import() (PostgreSQL's repository) goes into a chunk of its own, so its
    // packages (pg) load only when it is used; chunks sit beside the entry, at the same depth.
    splitting: true,
    chunkNames: '[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // Dependencies stay in node_modules, loaded by Node as usual: only our TypeScript is compiled ahead of time.
    packages: 'external',
    logLevel: 'warning',
    metafile: true,
  });
  await removeOldChunks(path.dirname(outfile), Object.keys(bundled.metafile.outputs));
  // The entry `npm start` runs: CommonJS, loaded as is (see src/start.cts).
  const start = path.join(path.dirname(outfile), START_FILE);
  await build({
    entryPoints: [path.join(PROJECT_ROOT, 'src', 'start.cts')],
    outfile: start,
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  return start;
}

/**
 * Chunks of earlier builds (their names carry their content's hash, so every change leaves one behind): a chunk this
 * build did not write goes, with its source map.
 */
async function removeOldChunks(dir: string, outputs: readonly string[]): Promise<void> {
  const written = new Set(outputs.map((output) => path.resolve(output)));
  const files = await readdir(dir);
  const old = files.filter((file) => /-[A-Z0-9]{8}\.mjs(\.map)?$/.test(file) && !written.has(path.resolve(dir, file)));
  await Promise.all(old.map((file) => rm(path.join(dir, file), { force: true })));
}
