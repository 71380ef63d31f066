// Bundles the service into one plain-JavaScript file with esbuild (the transpiler tsx itself runs on), to measure
// what running TypeScript through tsx costs at start-up and in memory.
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from './paths.js';

/**
 * Two folders below the project root, like src/<dir>/, so paths that modules resolve from their own location
 * (`../../migrations`, `../../web/`) still point at the right place. dist/ is git-ignored.
 */
const BUNDLE_PATH = path.join(PROJECT_ROOT, 'dist', 'bench', 'main.mjs');

export async function bundleService(): Promise<string> {
  await build({
    entryPoints: [path.join(PROJECT_ROOT, 'src', 'main.ts')],
    outfile: BUNDLE_PATH,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dependencies stay in node_modules, loaded by Node as usual: only our TypeScript is compiled ahead of time.
    packages: 'external',
    logLevel: 'warning',
  });
  return BUNDLE_PATH;
}
