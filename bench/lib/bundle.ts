// The service as `npm start` runs it (compiled by esbuild), bundled into the benchmark's own folder.
import path from 'node:path';
import { bundleService as bundle } from '../../scripts/bundleService.js';
import { PROJECT_ROOT } from './paths.js';

const BENCH_BUNDLE_PATH = path.join(PROJECT_ROOT, 'dist', 'bench', 'main.mjs');

export function bundleService(): Promise<string> {
  return bundle(BENCH_BUNDLE_PATH);
}
