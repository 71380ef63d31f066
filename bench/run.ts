// `npm run bench`: every benchmark in turn, then bench/results/latest.json and docs/PERFORMANCE.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCHMARKS } from './index.js';
import { isMainModule, parseCommandLine, runBenchmark, type Benchmark, type BenchOptions } from './lib/benchmark.js';
import { machineInfo } from './lib/machine.js';
import { DEFAULT_QUIET, QUIET_BUDGET_MS, waitForQuiet } from './lib/quiet.js';
import { renderReport } from './lib/report.js';
import type { BenchmarkResult, SuiteResult } from './lib/results.js';
import { REPORT_PATH, RESULTS_DIR } from './lib/paths.js';

export async function runSuite(options: BenchOptions, benchmarks: readonly Benchmark[] = BENCHMARKS): Promise<SuiteResult> {
  const startedAt = new Date();
  const started = performance.now();
  const machine = machineInfo();
  mkdirSync(options.workDir, { recursive: true });
  const results: BenchmarkResult[] = [];
  let quietBudgetMs = QUIET_BUDGET_MS;
  for (const benchmark of benchmarks) {
    const missing = benchmark.unavailable?.(options);
    if (missing !== undefined) {
      options.log(`${benchmark.id}: left out: ${missing}`);
      continue;
    }
    // A smoke run only proves that the code runs; a real one waits (within a budget) for the CPU's other users.
    const waitStarted = performance.now();
    const idle = options.smoke
      ? undefined
      : await waitForQuiet({ ...DEFAULT_QUIET, maxWaitMs: quietBudgetMs, log: options.log });
    quietBudgetMs = Math.max(0, quietBudgetMs - (performance.now() - waitStarted));
    const result = await runBenchmark(benchmark, options);
    if (idle !== undefined) result.settings['CPU idle before start'] = `${Math.round(idle * 100)}%`;
    results.push(result);
  }
  return {
    startedAt: startedAt.toISOString(),
    smoke: options.smoke,
    machine,
    threads: options.threads,
    runs: options.runs,
    inputs: options.sentences.source,
    benchmarks: results,
    totalMs: Math.round(performance.now() - started),
  };
}

if (isMainModule(import.meta.url)) {
  const { options, only } = parseCommandLine();
  const unknown = only.filter((id) => !BENCHMARKS.some((benchmark) => benchmark.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.map((benchmark) => benchmark.id).join(', ')}.`,
    );
  }
  const selected = only.length > 0 ? BENCHMARKS.filter((benchmark) => only.includes(benchmark.id)) : BENCHMARKS;
  const suite = await runSuite(options, selected);
  // Only a full, real run speaks for the project; smoke and partial runs keep their results to themselves.
  const complete = !options.smoke && selected.length === BENCHMARKS.length;
  const name = complete ? 'latest.json' : options.smoke ? 'latest.smoke.json' : 'latest.partial.json';
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, name), `${JSON.stringify(suite, null, 2)}\n`);
  options.log(`wrote bench/results/${name}`);
  if (complete) {
    writeFileSync(REPORT_PATH, renderReport(suite));
    options.log(`wrote ${path.relative(process.cwd(), REPORT_PATH)}`);
  } else {
    process.stdout.write(renderReport(suite));
  }
  options.log(`all done in ${(suite.totalMs / 60_000).toFixed(1)} min`);
}
