// Benchmark 6: 1, 2, 4 and 8 concurrent chat streams with sentiment queries alongside; and whether evaluating
// several sequences in one decode (coalescing) would pay on this machine.
import path from 'node:path';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { benchModelPath, isMainModule, runStandalone, serviceEnv, sized, type Benchmark, type BenchOptions } from './lib/benchmark.js';
import { chatOverWebSocket, sentimentQuery, type StreamTrace } from './lib/clients.js';
import { openRawContext, sentimentPromptTokens } from './lib/rawModel.js';
import { figure, type Figure } from './lib/results.js';
import { mixedSentences } from './lib/sentences.js';
import { startServiceProcess, type ServiceProcess } from './lib/serviceProcess.js';
import { percentile, summarize, type Summary } from './lib/stats.js';
import { ENGINE_DEFAULTS } from '../src/engine/index.js';

/** A sentiment query every half second or so: steady background load, not a flood. */
const PROBE_GAP_MS = 500;
const COALESCE_SIZES = [1, 2, 4] as const;

interface Level {
  streams: number;
  traces: StreamTrace[];
  /** Per run: total reply tokens over the time from the first subscription to the last ChatDone. */
  aggregateTokensPerSecond: number[];
  sentimentMs: number[];
}

export const concurrency: Benchmark = {
  id: 'concurrency',
  title: '6. Throughput under concurrency',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const replyTokens = sized(options, 48, 4);
    const levels = sized(options, [1, 2, 4, 8], [1, 2]);
    const service = await startServiceProcess(serviceEnv(options, modelPath, path.join(options.workDir, `concurrency-${process.pid}.db`)));
    const measured: Level[] = [];
    const idleSentimentMs: number[] = [];
    try {
      for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale);
      for (const { text, locale } of mixedSentences(options.sentences, sized(options, 6, 2))) {
        idleSentimentMs.push((await sentimentQuery(service.url, text, locale)).ms);
      }
      for (const streams of levels) {
        const runs: Level[] = [];
        for (let run = 0; run < options.runs; run += 1) runs.push(await measureLevel(options, service, streams, replyTokens));
        measured.push({
          streams,
          traces: runs.flatMap((run) => run.traces),
          aggregateTokensPerSecond: runs.flatMap((run) => run.aggregateTokensPerSecond),
          sentimentMs: runs.flatMap((run) => run.sentimentMs),
        });
      }
    } finally {
      await service.stop();
    }
    const coalescing = await measureCoalescing(options, modelPath);

    const base = measured[0]!;
    const top = measured.at(-1)!;
    const ttft = (level: Level) => level.traces.map((trace) => trace.deltaAt[0]! - trace.subscribedAt);
    const p95Summary = (samples: number[]): Summary => ({ ...summarize(samples), median: percentile(samples, 95) });
    const figures: Figure[] = measured.slice(1).map((level) =>
      figure({
        id: `aggregate-${level.streams}`,
        label: `Aggregate decode rate, ${level.streams} concurrent streams`,
        unit: 'tok/s',
        value: summarize(level.aggregateTokensPerSecond),
        baseline: { label: '1 stream', value: summarize(base.aggregateTokensPerSecond) },
      }),
    );
    figures.push(
      figure({
        id: 'ttft-p95',
        label: `Time to first token, p95 (in the median column) with ${top.streams} concurrent streams`,
        unit: 'ms',
        value: p95Summary(ttft(top)),
        baseline: { label: 'p95 with 1 stream', value: p95Summary(ttft(base)) },
      }),
      figure({
        id: 'sentiment-p95',
        label: `Sentiment query latency, p95 (in the median column) during ${top.streams} concurrent streams`,
        unit: 'ms',
        value: p95Summary(top.sentimentMs),
        baseline: { label: 'p95 idle', value: p95Summary(idleSentimentMs) },
      }),
      figure({
        id: 'coalesce-sentiment',
        label: `${COALESCE_SIZES.at(-1)} sentiment queries evaluated in one batched decode`,
        unit: 'ms',
        value: summarize(coalescing.batchedMs.at(-1)!),
        baseline: { label: 'one after the other', value: summarize(coalescing.sequentialMs.at(-1)!) },
        ratioOf: 'baseline/value',
      }),
      figure({
        id: 'coalesce-decode',
        label: `Decode rate of ${COALESCE_SIZES.at(-1)} sequences sampled in one decode per step`,
        unit: 'tok/s',
        value: summarize(coalescing.batchedDecode.at(-1)!),
        baseline: { label: 'one sequence', value: summarize(coalescing.batchedDecode[0]!) },
      }),
    );

    return {
      settings: {
        threads: options.threads,
        'reply tokens per stream': replyTokens,
        'warm conversations (chats generating at once)': ENGINE_DEFAULTS.warmConversations,
        'max queue': ENGINE_DEFAULTS.maxQueue,
      },
      figures,
      tables: [
        {
          title:
            'Every level, all runs pooled (time to first token from subscribing; meanwhile a sentiment query 500 ms after each answer)',
          columns: [
            'Streams',
            'Completed',
            'Aggregate tok/s',
            'TTFT p50 (ms)',
            'TTFT p95 (ms)',
            'TTFT max (ms)',
            'Slowest stream total (ms)',
            'Sentiment queries',
            'Sentiment p50 (ms)',
            'Sentiment p95 (ms)',
          ],
          rows: measured.map((level) => [
            level.streams,
            `${level.traces.length} of ${level.streams * options.runs}`,
            summarize(level.aggregateTokensPerSecond).median,
            percentile(ttft(level), 50),
            percentile(ttft(level), 95),
            Math.max(...ttft(level)),
            Math.max(...level.traces.map((trace) => trace.doneAt - trace.subscribedAt)),
            level.sentimentMs.length,
            percentile(level.sentimentMs, 50),
            percentile(level.sentimentMs, 95),
          ]),
        },
        {
          title: 'Coalescing: k sequences in one decode vs one after the other (node-llama-cpp alone, same model and threads)',
          columns: ['k', 'k sentiment queries, sequential (ms)', 'batched (ms)', 'Decode, k sequences batched (tok/s, all together)'],
          rows: COALESCE_SIZES.map((k, index) => [
            k,
            summarize(coalescing.sequentialMs[index]!).median,
            summarize(coalescing.batchedMs[index]!).median,
            summarize(coalescing.batchedDecode[index]!).median,
          ]),
        },
      ],
      notes: [
        'The service runs as its own process with its defaults; every stream has its own graphql-ws connection. The ' +
          `engine generates for ${ENGINE_DEFAULTS.warmConversations} chats at once (WARM_CONVERSATIONS) and queues the ` +
          'rest in order, so with more streams the later ones wait for earlier replies: time to first token grows with ' +
          'the queue, while every stream completes (nothing starves) and sentiment queries keep their own lanes.',
        coalescingVerdict(coalescing),
      ],
    };
  },
};

/** What batching several sequences into one decode would give here, from this run's own figures. */
function coalescingVerdict(coalescing: Coalescing): string {
  const k = COALESCE_SIZES.at(-1)!;
  const index = COALESCE_SIZES.length - 1;
  const promptGain = summarize(coalescing.sequentialMs[index]!).median / summarize(coalescing.batchedMs[index]!).median;
  const decodeGain = summarize(coalescing.batchedDecode[index]!).median / summarize(coalescing.batchedDecode[0]!).median;
  return (
    'The engine takes one token of one sequence per mutex step, so the aggregate rate stays near the single-stream ' +
    `rate. Coalescing ${k} queued sentiment queries into one decode would make them ${promptGain.toFixed(2)}× faster ` +
    '(prompt evaluation is compute-bound on a CPU), would need a warm sentiment sequence (48 MiB of KV cache at 4k) ' +
    'per query in the batch, and queries rarely queue that deep: not adopted. Decoding is another matter: ' +
    `${k} chat sequences sampled in one decode per step give ${decodeGain.toFixed(2)}× one sequence's rate, since each ` +
    'step reads all the weights once whatever the batch; batching the running chats\' token steps is the lever for ' +
    'aggregate throughput, at the price of a scheduler that steps several jobs at once.'
  );
}

async function measureLevel(options: BenchOptions, service: ServiceProcess, streams: number, replyTokens: number): Promise<Level> {
  const messages = mixedSentences(options.sentences, streams);
  const probeSentences = mixedSentences(options.sentences, 16);
  let running = true;
  const sentimentMs: number[] = [];
  const probe = (async () => {
    for (let index = 0; running; index += 1) {
      const { text, locale } = probeSentences[index % probeSentences.length]!;
      sentimentMs.push((await sentimentQuery(service.url, text, locale)).ms);
      await new Promise((resolve) => setTimeout(resolve, PROBE_GAP_MS));
    }
  })();
  const startedAt = performance.now();
  // Settled rather than all: a stream that fails (refused, timed out) is counted, not allowed to end the benchmark.
  const settled = await Promise.allSettled(
    messages.map(({ text, locale }, index) =>
      chatOverWebSocket(service.wsUrl, { message: text, locale, maxTokens: replyTokens, temperature: 0.7, seed: index }),
    ),
  ).finally(() => (running = false));
  await probe;
  const traces = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failures = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
  if (traces.length === 0) throw new Error(`Every one of ${streams} streams failed: ${failures.join('; ')}`);
  const endedAt = Math.max(...traces.map((trace) => trace.doneAt));
  const tokens = traces.reduce((sum, trace) => sum + trace.tokenCount, 0);
  const aggregate = (tokens * 1000) / (endedAt - startedAt);
  const level = { streams, traces, aggregateTokensPerSecond: [aggregate], sentimentMs };
  options.log(
    `concurrency ${streams}: ${traces.length} of ${streams} completed${failures.length ? ` (${failures.join('; ')})` : ''}, ` +
      `${aggregate.toFixed(1)} tok/s aggregate, ` +
      `sentiment p95 ${percentile(sentimentMs, 95).toFixed(0)} ms over ${sentimentMs.length} queries`,
  );
  return level;
}

interface Coalescing {
  /** Per k: times to evaluate k sentiment queries one after the other, and in one batched decode. */
  sequentialMs: number[][];
  batchedMs: number[][];
  /** Per k: tokens per second over k sequences decoding together. */
  batchedDecode: number[][];
}

async function measureCoalescing(options: BenchOptions, modelPath: string): Promise<Coalescing> {
  const maxK = COALESCE_SIZES.at(-1)!;
  const raw = await openRawContext({ modelPath, threads: options.threads, sequences: maxK, contextSize: 1024 });
  const sequences = Array.from({ length: maxK }, () => raw.context.getSequence());
  const result: Coalescing = { sequentialMs: [], batchedMs: [], batchedDecode: [] };
  const sentences = mixedSentences(options.sentences, maxK).map((sentence) => ({ ...sentence, locale: 'en' as const }));
  const { prefix } = sentimentPromptTokens(raw.model, '', 'en');
  const queries = sentences.map(({ text }) => sentimentPromptTokens(raw.model, text, 'en').query);
  const decodeTokens = sized(options, 16, 2);
  try {
    for (const sequence of sequences) await sequence.evaluateWithoutGeneratingNewTokens(prefix);
    const resetToPrefix = async () => {
      for (const sequence of sequences) await sequence.eraseContextTokenRanges([{ start: prefix.length, end: sequence.nextTokenIndex }]);
    };
    for (const [index, k] of COALESCE_SIZES.entries()) {
      result.sequentialMs[index] = [];
      result.batchedMs[index] = [];
      result.batchedDecode[index] = [];
      for (let run = 0; run < options.runs; run += 1) {
        await resetToPrefix();
        let startedAt = performance.now();
        for (let item = 0; item < k; item += 1) await sequences[item]!.evaluateWithoutGeneratingNewTokens(queries[item]!);
        result.sequentialMs[index]!.push(performance.now() - startedAt);

        await resetToPrefix();
        startedAt = performance.now();
        // Evaluations started in the same tick go into one llama.cpp batch.
        await Promise.all(sequences.slice(0, k).map((sequence, item) => sequence.evaluateWithoutGeneratingNewTokens(queries[item]!)));
        result.batchedMs[index]!.push(performance.now() - startedAt);

        startedAt = performance.now();
        await Promise.all(sequences.slice(0, k).map((sequence, item) => decode(sequence, [queries[item]!.at(-1)!], decodeTokens)));
        result.batchedDecode[index]!.push((k * decodeTokens * 1000) / (performance.now() - startedAt));
      }
    }
  } finally {
    await raw.dispose();
  }
  return result;
}

async function decode(sequence: LlamaContextSequence, start: Token[], count: number): Promise<void> {
  let generated = 0;
  for await (const _ of sequence.evaluate(start, { temperature: 0.7, seed: 1 })) {
    if (++generated >= count) break;
  }
}

if (isMainModule(import.meta.url)) await runStandalone(concurrency);
