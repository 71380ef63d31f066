// Benchmark 14: libuv's thread pool at one thread (what `npm start` sets) against Node's default of four, in the same
// run: the decode rate a client sees, alone and with 8 streams, and what the pool's other users pay meanwhile.
import path from 'node:path';
import {
  benchModelPath,
  isMainModule,
  runStandalone,
  serviceEnv,
  sized,
  type Benchmark,
  type BenchOptions,
} from './lib/benchmark.js';
import { chatOverWebSocket, clientTokensPerSecond } from './lib/clients.js';
import { figure } from './lib/results.js';
import { mixedSentences } from './lib/sentences.js';
import { startServiceProcess, type ServiceProcess } from './lib/serviceProcess.js';
import { percentile, summarize } from './lib/stats.js';

const POOL_SIZES = [4, 1] as const;
type PoolSize = (typeof POOL_SIZES)[number];
/** A static file answer reads the file through the pool (stat, then a read stream): the pool's typical other user. */
const PAGE_PATH = '/';
const PAGE_GAP_MS = 50;

interface PoolRun {
  oneStream: number[];
  aggregate: number[];
  pageIdleMs: number[];
  pageBusyMs: number[];
}

export const threadPool: Benchmark = {
  id: 'thread-pool',
  title: '14. libuv thread pool: one thread against four',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const singleTokens = sized(options, 128, 8);
    const streamTokens = sized(options, 64, 4);
    const streams = sized(options, 8, 2);
    const runs: Record<PoolSize, PoolRun> = {
      4: { oneStream: [], aggregate: [], pageIdleMs: [], pageBusyMs: [] },
      1: { oneStream: [], aggregate: [], pageIdleMs: [], pageBusyMs: [] },
    };
    // Alternating, one fresh process per pool size and run, so the machine's drift falls on both alike.
    for (let run = 0; run < options.runs; run += 1) {
      for (const size of POOL_SIZES) {
        await measurePool(options, modelPath, size, run, { singleTokens, streamTokens, streams }, runs[size]);
      }
    }
    const [four, one] = [runs[4], runs[1]];
    return {
      settings: {
        threads: options.threads,
        'streams at once': streams,
        'tokens: one stream / each of the 8': `${singleTokens} / ${streamTokens}`,
        'service settings': 'defaults, as npm start (the bundle), UV_THREADPOOL_SIZE set explicitly',
      },
      figures: [
        figure({
          id: 'one-stream',
          label: `One stream's decode rate seen by the client (${singleTokens} tokens), pool of 1`,
          unit: 'tok/s',
          value: summarize(one.oneStream),
          baseline: { label: 'pool of 4', value: summarize(four.oneStream) },
        }),
        figure({
          id: 'aggregate-8',
          label: `Aggregate rate of ${streams} concurrent streams, pool of 1`,
          unit: 'tok/s',
          value: summarize(one.aggregate),
          baseline: { label: 'pool of 4', value: summarize(four.aggregate) },
        }),
        figure({
          id: 'page-busy-p95',
          label: `A static file (GET ${PAGE_PATH}) during ${streams} streams, p95 (in the median column), pool of 1`,
          unit: 'ms',
          value: { ...summarize(one.pageBusyMs), median: percentile(one.pageBusyMs, 95) },
          baseline: { label: 'pool of 4', value: { ...summarize(four.pageBusyMs), median: percentile(four.pageBusyMs, 95) } },
        }),
      ],
      tables: [
        {
          title: 'Every run pooled, per pool size',
          columns: [
            'Pool threads',
            'One stream tok/s (median)',
            `${streams} streams tok/s (median)`,
            'Page idle p50 (ms)',
            'Page busy p50 (ms)',
            'Page busy p95 (ms)',
            'Page busy max (ms)',
          ],
          rows: POOL_SIZES.map((size) => {
            const measured = runs[size];
            return [
              size,
              summarize(measured.oneStream).median,
              summarize(measured.aggregate).median,
              percentile(measured.pageIdleMs, 50),
              percentile(measured.pageBusyMs, 50),
              percentile(measured.pageBusyMs, 95),
              Math.max(...measured.pageBusyMs),
            ];
          }),
        },
      ],
      notes: [
        'node-llama-cpp runs every decode (and every token sampling) as a task on libuv\'s thread pool. With four pool ' +
          'threads consecutive decodes start on different threads, and the kernel moves the decode\'s compute threads ' +
          'between the cores far more often (a native OpenMP build also keeps a team of threads per calling thread); with ' +
          'one, every decode starts on the same thread. The prebuilt binary, without OpenMP, starts its other compute ' +
          "threads anew for every decode either way. The page figures show what the pool's other users pay: a file read " +
          'waits for the decode in progress.',
      ],
    };
  },
};

async function measurePool(
  options: BenchOptions,
  modelPath: string,
  size: PoolSize,
  run: number,
  tokens: { singleTokens: number; streamTokens: number; streams: number },
  into: PoolRun,
): Promise<void> {
  const databasePath = path.join(options.workDir, `thread-pool-${size}-${run}-${process.pid}.db`);
  const service = await startServiceProcess(
    serviceEnv(options, modelPath, databasePath, { UV_THREADPOOL_SIZE: String(size) }),
  );
  try {
    const [first, ...messages] = mixedSentences(options.sentences, tokens.streams + 1);
    await chatOverWebSocket(service.wsUrl, { message: 'Warm-up.', locale: 'en', maxTokens: 4, seed: 0 });
    for (let index = 0; index < sized(options, 20, 2); index += 1) into.pageIdleMs.push(await pageMs(service));
    const single = await chatOverWebSocket(service.wsUrl, {
      message: first!.text,
      locale: first!.locale,
      maxTokens: tokens.singleTokens,
      seed: run,
    });
    into.oneStream.push(clientTokensPerSecond(single));

    let streaming = true;
    const pages = (async () => {
      while (streaming) {
        into.pageBusyMs.push(await pageMs(service));
        await new Promise((resolve) => setTimeout(resolve, PAGE_GAP_MS));
      }
    })();
    const startedAt = performance.now();
    const traces = await Promise.all(
      messages.map(({ text, locale }, index) =>
        chatOverWebSocket(service.wsUrl, { message: text, locale, maxTokens: tokens.streamTokens, seed: run * 100 + index }),
      ),
    ).finally(() => (streaming = false));
    await pages;
    const endedAt = Math.max(...traces.map((trace) => trace.doneAt));
    into.aggregate.push((traces.reduce((sum, trace) => sum + trace.tokenCount, 0) * 1000) / (endedAt - startedAt));
    options.log(
      `thread-pool ${size}: one stream ${into.oneStream.at(-1)!.toFixed(1)} tok/s, ${tokens.streams} streams ` +
        `${into.aggregate.at(-1)!.toFixed(1)} tok/s, page p95 during them ${percentile(into.pageBusyMs, 95).toFixed(1)} ms`,
    );
  } finally {
    await service.stop();
  }
}

async function pageMs(service: ServiceProcess): Promise<number> {
  const startedAt = performance.now();
  const response = await fetch(`${service.url}${PAGE_PATH}`);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`GET ${PAGE_PATH} answered ${response.status}`);
  return performance.now() - startedAt;
}

if (isMainModule(import.meta.url)) await runStandalone(threadPool);
