// Where the benchmarks read and write, resolved from this module rather than the working directory.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Git-ignored: JSON results of the last runs. */
export const RESULTS_DIR = path.join(PROJECT_ROOT, 'bench', 'results');
/** The readable report that `npm run bench` regenerates. */
export const REPORT_PATH = path.join(PROJECT_ROOT, 'docs', 'PERFORMANCE.md');
/** Git-ignored: the stand-in model, shared with `MODEL=synthetic:qwen2.5-0.5b`. */
export const DEFAULT_MODELS_DIR = path.join(PROJECT_ROOT, 'models');
/** Git-ignored scratch space: databases and logs of benchmark runs. */
export const DEFAULT_WORK_DIR = path.join(PROJECT_ROOT, '.tmp', 'bench');
/** Optional evaluation data next to the project (never copied into it). */
export const SHARED_EVALDATA_DIR = path.resolve(PROJECT_ROOT, '..', 'shared', 'evaldata');
