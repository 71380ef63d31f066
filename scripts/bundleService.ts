// Compiles the service (src/main.ts, and the packages it imports) into one plain-JavaScript file with esbuild.
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { recordBuildInputs } from './buildInputs.mjs';
import { KEEP_INSTALLED_LOCATION_MODULE, keepInstalledLocation } from './keepInstalledLocation.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD_INPUTS_MODULE = fileURLToPath(new URL('buildInputs.mjs', import.meta.url));

/**
 * Two folders below the project root, like src/<dir>/, so paths that modules resolve from their own location
 * (`../../migrations`, `../../web/`) still point at the right place. dist/ is git-ignored.
 */
export const SERVICE_BUNDLE_PATH = path.join(PROJECT_ROOT, 'dist', 'service', 'main.mjs');

/**
 * Packages loaded from node_modules at run time: those that find their own files from where they are installed
 * (better-sqlite3's addon, pino's transport workers), node-llama-cpp's prebuilt binaries (packages it imports by name
 * to find their folder) and the native addon its downloader may use, pg, which the PostgreSQL chunk alone loads, and
 * GraphiQL's 9 MB page, imported on its first request only (src/app.ts).
 */
const KEPT_IN_NODE_MODULES = [
  'better-sqlite3',
  'pino',
  '@node-llama-cpp/*',
  '@reflink/*',
  'pg',
  '@graphql-yoga/render-graphiql',
] as const;

/**
 * Compiled in, though their modules find files from where they are installed: node-llama-cpp its binaries, llama.cpp's
 * source and its package.json, and it forks its own binary-test module. Loading its 240 modules and those of its
 * dependencies (about 400 files) from node_modules took 0.31–0.33 s of every start, 0.11 s compiled in, where each of
 * its modules keeps its installed location (keepInstalledLocation).
 */
const LOCATED_WHERE_INSTALLED = ['node-llama-cpp'] as const;

const REQUIRE_SHIM =
  "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);";

/** `npm start`'s first module, beside the bundle: it sizes libuv's thread pool, then imports the bundle. */
export const START_FILE = 'start.cjs';

/** Builds the bundle at `outfile` and the start file beside it; returns the start file's path. */
export async function bundleService(outfile: string = SERVICE_BUNDLE_PATH): Promise<string> {
  const dir = path.dirname(outfile);
  // A build that fails half-way must not leave a manifest that vouches for what it left.
  await forgetBuildInputs(dir);
  const bundled = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: { [path.basename(outfile, '.mjs')]: path.join(PROJECT_ROOT, 'src', 'main.ts') },
    outdir: dir,
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
    // The dependencies are compiled in too: Node then reads one file instead of about 1,200 package files (and their
    // package.json lookups), which took a third of a second of every start (docs/PERFORMANCE-FINDINGS.md).
    external: [...KEPT_IN_NODE_MODULES],
    plugins: [keepInstalledLocation(LOCATED_WHERE_INSTALLED, dir)],
    // Bundled CommonJS code asks for Node's built-ins (and optional packages) with require(), which ES modules lack.
    banner: { js: REQUIRE_SHIM },
    logLevel: 'warning',
    metafile: true,
  });
  await removeOldChunks(dir, Object.keys(bundled.metafile.outputs));
  // The entry `npm start` runs: CommonJS, loaded as is (see src/start.cts).
  const start = path.join(dir, START_FILE);
  const startEntry = path.join(PROJECT_ROOT, 'src', 'start.cts');
  await build({
    entryPoints: [startEntry],
    outfile: start,
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  // What `npm start`'s prestart compares with the files as they are then: the bundle's inputs, and how it is made.
  const builtFrom = Object.keys(bundled.metafile.inputs).map((input) => path.resolve(PROJECT_ROOT, input));
  const howMade = [fileURLToPath(import.meta.url), KEEP_INSTALLED_LOCATION_MODULE, BUILD_INPUTS_MODULE];
  await recordBuildInputs(dir, [...builtFrom, startEntry, ...howMade]);
  return start;
}

async function forgetBuildInputs(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await recordBuildInputs(dir, []);
}

/**
 * Chunks of earlier builds (their names carry their content's hash, so every change leaves one behind): a chunk this
 * build did not write (`outputs`, relative to the project root) goes, with its source map.
 */
async function removeOldChunks(dir: string, outputs: readonly string[]): Promise<void> {
  const written = new Set(outputs.map((output) => path.resolve(PROJECT_ROOT, output)));
  const files = await readdir(dir);
  const old = files.filter((file) => /-[A-Z0-9]{8}\.mjs(\.map)?$/.test(file) && !written.has(path.resolve(dir, file)));
  await Promise.all(old.map((file) => rm(path.join(dir, file), { force: true })));
}
