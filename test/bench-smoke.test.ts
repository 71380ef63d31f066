// The benchmark suite in smoke mode (tiny model, one iteration): every benchmark still runs end to end and reports
// well-formed figures, so the benchmarks never rot. Timings on the tiny model mean nothing and are not checked.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BENCHMARKS } from '../bench/index.js';
import { renderReport } from '../bench/lib/report.js';
import { checkResult } from '../bench/lib/results.js';
import { loadSentences } from '../bench/lib/sentences.js';
import { runSuite } from '../bench/run.js';
import { findPostgresBin } from './support/postgresServer.js';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-bench-');

afterAll(() => scratch.remove());

describe('npm run bench -- --smoke', () => {
  it('runs every benchmark and reports each figure with its numbers, baseline ratio and verdict', async () => {
    const suite = await runSuite({
      smoke: true,
      threads: 1,
      runs: 1,
      modelsDir: inject('modelsDir'),
      workDir: scratch.dir,
      sentences: loadSentences(),
      log: () => {},
    });
    // Only a benchmark that names what the machine lacks (a server package, a llama-server build) may be left out.
    const runnable = BENCHMARKS.filter((benchmark) => benchmark.unavailable?.({ smoke: true }) === undefined);
    expect(suite.benchmarks.map((result) => result.id)).toEqual(runnable.map((benchmark) => benchmark.id));
    expect(runnable.map((benchmark) => benchmark.id)).toEqual(expect.arrayContaining(['streaming', 'analytics', 'runtime']));
    for (const result of suite.benchmarks) {
      expect(checkResult(result), result.id).toEqual([]);
      expect(result.figures.length, result.id).toBeGreaterThan(0);
    }
    // Every target the issue sets is present, so a refactoring cannot silently drop one.
    const targets = suite.benchmarks.flatMap((result) =>
      result.figures.filter((item) => item.target).map((item) => `${result.id}/${item.id}`),
    );
    // Smoke runs 1 and 2 streams only (the 4- and 8-stream targets need the full run); the native build's target
    // needs a native build, which `npm install` does not make.
    const nativeBuilt =
      suite.benchmarks.find((result) => result.id === 'runtime')?.settings['native build present'] === true;
    // The analytics benchmark measures PostgreSQL wherever its server binaries are installed (always in CI).
    const postgres = findPostgresBin() !== undefined;
    // The peer runs in smoke mode only on a llama-server built earlier (a smoke run never builds one).
    const peerBuilt = suite.benchmarks.some((result) => result.id === 'peer');
    expect(targets).toEqual([
      'streaming/tokens-per-second-graphql-ws',
      'streaming/ttft-overhead-graphql-ws',
      'streaming/tokens-per-second-SSE',
      'streaming/ttft-overhead-SSE',
      'sentiment/latency',
      'fairness/sentiment-during-reply-step',
      'fairness/fair-share-latency',
      'fairness/fair-share-refused',
      'memory/peak-rss',
      'concurrency/aggregate-2',
      'concurrency/ttft-p95',
      'concurrency/sentiment-p95',
      'analytics/stats-graphql',
      'analytics/task-stats-db',
      ...(postgres ? ['analytics/stats-graphql-postgres', 'analytics/task-stats-db-postgres'] : []),
      ...(nativeBuilt ? ['runtime/decode-native'] : []),
      'tasks/analyze-two-tasks',
      ...['keys', 'anonymous'].flatMap((mode) =>
        ['batches', 'aliased-extracts', 'longest-texts', 'all-at-once'].map((flood) => `floods/short-query-p95-${mode}-${flood}`),
      ),
      ...(peerBuilt
        ? ['decode', 'aggregate', 'ttft-p95', 'ttft-p95-limit', 'peak-rss', 'ready', 'classify', 'classify-batches', 'batch-per-single'].map(
            (id) => `peer/${id}`,
          )
        : []),
      'background/job-throughput',
      'background/sentiment-p95-during-job',
      'background/job-share-while-busy',
      'analysis-jobs/job-throughput',
      'analysis-jobs/sentiment-p95-during-job',
      'analysis-jobs/chat-ttft-during-job',
      'gaps/step-after-gaps',
    ]);
    const report = renderReport(suite);
    for (const result of suite.benchmarks) expect(report).toContain(`## ${result.title}`);
    // The hand-written findings the page links to are there.
    expect(report).toContain('(PERFORMANCE-FINDINGS.md)');
    expect(existsSync(new URL('../docs/PERFORMANCE-FINDINGS.md', import.meta.url))).toBe(true);
  }, 240_000);
});
