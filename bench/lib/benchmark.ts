// What every benchmark shares: its options, its interface, the model it runs on, and running one on its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureSyntheticModel, type SyntheticShapeName } from '../../src/engine/synth/index.js';
import { renderBenchmark } from './report.js';
import { checkResult, type BenchmarkResult } from './results.js';
import { DEFAULT_MODELS_DIR, DEFAULT_WORK_DIR, RESULTS_DIR } from './paths.js';
import { loadSentences, type SentenceSet } from './sentences.js';

export interface BenchOptions {
  /** Tiny model and one iteration: proves the benchmark still runs, measures nothing. */
  smoke: boolean;
  /** llama.cpp evaluation threads, always explicit (node-llama-cpp's own default oversubscribes small machines). */
  threads: number;
  /** Repetitions behind each median. */
  runs: number;
  /** Where the synthetic models are kept (generated on first use). */
  modelsDir: string;
  /** Scratch folder for databases and logs. */
  workDir: string;
  sentences: SentenceSet;
  log: (message: string) => void;
}

export interface Benchmark {
  /** Also the npm script suffix: `npm run bench:<id>`. */
  id: string;
  title: string;
  /** Why this machine cannot run it (a missing server package, a build a smoke run may not make), or undefined; the suite then leaves it out. */
  unavailable?(options: Pick<BenchOptions, 'smoke'>): string | undefined;
  run(options: BenchOptions): Promise<Omit<BenchmarkResult, 'id' | 'title' | 'durationMs'>>;
}

/** The stand-in with the real model's shapes and quantization, or the tiny model in smoke mode. */
export function benchModelShape(options: Pick<BenchOptions, 'smoke'>): SyntheticShapeName {
  return options.smoke ? 'tiny' : 'qwen2.5-0.5b';
}

export function benchModelPath(options: Pick<BenchOptions, 'smoke' | 'modelsDir'>): Promise<string> {
  return ensureSyntheticModel({ shape: benchModelShape(options), modelsDir: options.modelsDir });
}

/** Scale a count for smoke mode: the full value normally, the smoke value (usually 1) otherwise. */
export function sized<T>(options: Pick<BenchOptions, 'smoke'>, full: T, smoke: T): T {
  return options.smoke ? smoke : full;
}

export async function runBenchmark(benchmark: Benchmark, options: BenchOptions): Promise<BenchmarkResult> {
  const startedAt = performance.now();
  options.log(`${benchmark.id}: started`);
  const partial = await benchmark.run(options);
  const result: BenchmarkResult = {
    id: benchmark.id,
    title: benchmark.title,
    ...partial,
    durationMs: Math.round(performance.now() - startedAt),
  };
  const problems = checkResult(result);
  if (problems.length > 0) throw new Error(`${benchmark.id} produced a malformed result: ${problems.join('; ')}`);
  options.log(`${benchmark.id}: done in ${(result.durationMs / 1000).toFixed(1)} s`);
  return result;
}

export interface CommandLine {
  options: BenchOptions;
  /** Benchmark ids given with --only; empty means all. */
  only: string[];
}

export function parseCommandLine(argv = process.argv.slice(2)): CommandLine {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      threads: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      'models-dir': { type: 'string' },
      'work-dir': { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  return {
    options: {
      smoke,
      threads: positiveInteger('--threads', values.threads, os.availableParallelism()),
      runs: positiveInteger('--runs', values.runs, smoke ? 1 : 3),
      modelsDir: path.resolve(values['models-dir'] ?? DEFAULT_MODELS_DIR),
      workDir: path.resolve(values['work-dir'] ?? DEFAULT_WORK_DIR),
      sentences: loadSentences(),
      log: (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`),
    },
    only: values.only
      ? values.only
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean)
      : [],
  };
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/** `npm run bench:<id>`: runs one benchmark, prints its section of the report, keeps its JSON in bench/results/. */
export async function runStandalone(benchmark: Benchmark): Promise<void> {
  const { options } = parseCommandLine();
  mkdirSync(options.workDir, { recursive: true });
  const result = await runBenchmark(benchmark, options);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${benchmark.id}${options.smoke ? '.smoke' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${renderBenchmark(result)}\n`);
  options.log(`wrote ${path.relative(process.cwd(), file)}`);
}

/** Environment for the real service on the benchmark model with the benchmark's thread count. */
export function serviceEnv(
  options: Pick<BenchOptions, 'threads' | 'modelsDir'>,
  modelPath: string,
  databasePath: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    MODEL: modelPath,
    MODELS_DIR: options.modelsDir,
    THREADS: String(options.threads),
    DATABASE_PATH: databasePath,
    ...overrides,
  };
}

function positiveInteger(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1) throw new Error(`${flag} must be a positive integer; got "${raw}".`);
  return value;
}
