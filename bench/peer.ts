// Benchmark 13: the service against llama.cpp's own server (built from the source node-llama-cpp bundles) on the same
// model, context, KV settings and threads: decode, 8 streams, peak memory, start-up and classification, alternating.
import { readFileSync } from 'node:fs';
import os from 'node:os';
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
import { chatOverSse, clientTokensPerSecond, postGraphQL, sentimentQuery, type StreamTrace } from './lib/clients.js';
import { ensurePeerBuild, peerBuildMissing, peerBuilt, type PeerBuild } from './lib/peerBuild.js';
import { PeerClient, peerTokensPerSecond, type PeerTrace } from './lib/peerClient.js';
import { startPeerProcess, type PeerProcess } from './lib/peerProcess.js';
import { formatNumber } from './lib/report.js';
import { figure, type Figure, type Table } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { startServiceProcess } from './lib/serviceProcess.js';
import { bundleService } from '../scripts/bundleService.js';
import { percentile, summarize, type Summary } from './lib/stats.js';
import { ENGINE_DEFAULTS, SAMPLING_DEFAULTS, type SentimentLabel } from '../src/engine/index.js';

const MB = 1_000_000;
/** The issue's targets, as ratios against the peer measured in the same run (and two absolute limits). */
const TARGETS = {
  decode: 0.95,
  aggregate: 0.9,
  ttftRatio: 1.25,
  ttftMs: 3000,
  rss: 1.15,
  readyMs: 2000,
  classify: 0.95,
  batchPerSingle: 1,
} as const;
/** The many-streams level the issue compares, and the peer's slots for it. */
const STREAMS = 8;
/**
 * Every service sequence (each chat sequence and each task sequence) holds the whole per-sequence context, so a peer
 * with this many slots holds the same KV cache; a peer with only the reply slots is measured for contrast.
 */
const SAME_KV_SLOTS = ENGINE_DEFAULTS.maxParallelReplies + ENGINE_DEFAULTS.taskSequences;
const REPLY_SLOTS = ENGINE_DEFAULTS.maxParallelReplies;
const BATCH = `query ($texts: [String!]!) { sentiments(texts: $texts) { label } }`;

type Side = 'peer' | 'service';

/** What one process measured in one run. */
interface Sample {
  side: Side;
  slots: number;
  /** Peer only: whether llama-server mapped the weights (its default) or read them (`--no-mmap`). */
  mmap: boolean;
  run: number;
  readyMs: number;
  /** Service only: the same start through `npm start` (npm, its prestart finding the build up to date, the bundle). */
  npmReadyMs?: number;
  decodeTokensPerSecond: number;
  decodeTokens: number;
  aggregateTokensPerSecond: number;
  streamTokens: number;
  ttftP95Ms: number;
  /** Service only: p95 time from sending the request to ChatStarted (the verdict on the message, the turn stored). */
  startedP95Ms?: number;
  /** Newcomers beside a running stream (`measureArrivals`); the peer's 8-slot process and the service at its defaults. */
  arrivals?: ArrivalsSample;
  classifyPerSecond: number;
  /** Service only: the `sentiments` batches. */
  batchPerSecond?: number;
  peakRssBytes: number;
  /** Service only: the CPU backend node-llama-cpp loaded (e.g. `libggml-cpu-sapphirerapids.so`, which uses AMX). */
  cpuBackend?: string;
}

interface Sizes {
  decodeTokens: number;
  streams: number;
  streamTokens: number;
  /** Text events a running stream has sent when newcomers arrive (`measureArrivals`). */
  arriveAfter: number;
  texts: Sentence[];
  batch: number;
}

export const peer: Benchmark = {
  id: 'peer',
  title: '13. Versus llama.cpp',
  unavailable: whyUnavailable,
  async run(options) {
    const missing = whyUnavailable(options);
    if (missing !== undefined) throw new Error(`The peer benchmark cannot run: ${missing}.`);
    const build = await ensurePeerBuild(options.log);
    const modelPath = await benchModelPath(options);
    // `npm start`'s own build, made now: each timed `npm start` then finds it up to date, as every start after a change.
    await bundleService();
    const sizes: Sizes = {
      decodeTokens: sized(options, 128, 8),
      streams: sized(options, STREAMS, 2),
      streamTokens: sized(options, 64, 4),
      arriveAfter: sized(options, 16, 2),
      texts: mixedSentences(options.sentences, sized(options, 48, 4)),
      batch: sized(options, ENGINE_DEFAULTS.maxBatchTexts, 2),
    };
    const shared: Shared = { tokens: new Map(), labels: new Map(), commands: new Map() };
    // llama-server at its defaults for every slot count, and once more with the weights read as the service reads them.
    const peerVariants: PeerVariant[] = [
      ...[...new Set([STREAMS, SAME_KV_SLOTS, REPLY_SLOTS])].map((slots) => ({ slots, mmap: true })),
      { slots: SAME_KV_SLOTS, mmap: false },
    ];
    const samples: Sample[] = [];
    const withoutChatTasks: NoTasksSample[] = [];
    for (let run = 0; run < options.runs; run += 1) {
      // A/B/A/B: which side goes first alternates from run to run, so a slow moment does not land on one side only.
      const sides: (() => Promise<unknown>)[] = [
        async () => samples.push(await measurePeer(options, build, modelPath, peerVariants[0]!, run, sizes, shared)),
        async () => samples.push(await measureService(options, modelPath, run, sizes)),
        async () => withoutChatTasks.push(await measureServiceWithoutChatTasks(options, modelPath, run, sizes)),
        ...peerVariants
          .slice(1)
          .map((variant) => async () => samples.push(await measurePeer(options, build, modelPath, variant, run, sizes, shared))),
      ];
      const order = run % 2 === 0 ? sides : [sides[1]!, sides[2]!, sides[0]!, ...sides.slice(3)];
      for (const measure of order) await measure();
    }
    return report(options, build, modelPath, sizes, samples, withoutChatTasks, shared.commands);
  },
};

/** A smoke run is part of `npm test`: it uses a build made earlier and never starts one (about 14 minutes). */
function whyUnavailable(options: Pick<BenchOptions, 'smoke'>): string | undefined {
  if (peerBuilt()) return undefined;
  return options.smoke ? 'no cached llama-server build with this benchmark\'s flags (`npm run bench:peer` makes one)' : peerBuildMissing();
}

/** How one llama-server process is started. */
interface PeerVariant {
  slots: number;
  mmap: boolean;
}

/** Kept across runs and processes: token ids of our prompt texts, each chat message's label, the command lines. */
interface Shared {
  tokens: Map<string, number[]>;
  labels: Map<string, SentimentLabel>;
  /** By variant (`peerLabel`). */
  commands: Map<string, string>;
}

async function measurePeer(
  options: BenchOptions,
  build: PeerBuild,
  modelPath: string,
  variant: PeerVariant,
  run: number,
  sizes: Sizes,
  shared: Shared,
): Promise<Sample> {
  const { slots, mmap } = variant;
  const peer: PeerProcess = await startPeerProcess({ server: build.server, modelPath, threads: options.threads, slots, mmap });
  // For the report: the binary and the model by name, the port as what it is (it differs from start to start).
  const command = peer.command.replace(build.server, 'llama-server').replace(modelPath, path.basename(modelPath));
  shared.commands.set(peerLabel(variant), command.replace(/--port \d+/, '--port <free port>'));
  try {
    const client = new PeerClient(peer.url, shared.tokens);
    const messages = chatMessages(options, sizes, run);
    // Untimed: warm-up, and each message's label, which picks its system prompt's tone line (as the service's verdict does).
    for (const locale of ['en', 'zh'] as const) await client.classify('Warm-up.', locale);
    for (const { text, locale } of messages.all) {
      if (!shared.labels.has(text)) shared.labels.set(text, await client.classify(text, locale));
    }
    const prompt = (sentence: Sentence) => client.chatPrompt(sentence.text, sentence.locale, shared.labels.get(sentence.text)!);
    await client.complete(await prompt(messages.warmUp), 4, run);

    const decode = await client.complete(await prompt(messages.decode), sizes.decodeTokens, run);
    const prompts = await Promise.all(messages.streams.map(prompt));
    const startedAt = performance.now();
    const traces = await Promise.all(prompts.map((tokens, index) => client.complete(tokens, sizes.streamTokens, index)));
    const streamTokens = traces.reduce((sum, trace) => sum + trace.tokens, 0);
    const arrivals =
      slots === STREAMS
        ? await measureArrivals(sizes, async (index, onText) => {
            const trace = await client.complete(
              await prompt(index === 0 ? messages.decode : messages.arrivals[index - 1]!),
              index === 0 ? sizes.decodeTokens : sizes.streamTokens,
              index,
              onText,
            );
            return { sentAt: trace.sentAt, textAt: trace.eventAt };
          })
        : undefined;
    // The streams took over every slot: the sentiment prefix is evaluated again, untimed, as the service keeps it warm.
    for (const locale of ['en', 'zh'] as const) await client.classify('Warm-up.', locale);
    const classifyStartedAt = performance.now();
    for (const { text, locale } of sizes.texts) await client.classify(text, locale);
    const classifyMs = performance.now() - classifyStartedAt;
    const sample: Sample = {
      side: 'peer',
      slots,
      mmap,
      run,
      readyMs: peer.readyMs,
      decodeTokensPerSecond: peerTokensPerSecond(decode),
      decodeTokens: decode.tokens,
      aggregateTokensPerSecond: (streamTokens * 1000) / (Math.max(...traces.map((trace) => trace.doneAt)) - startedAt),
      streamTokens,
      ttftP95Ms: percentile(traces.map(peerTimeToFirstToken), 95),
      ...(arrivals ? { arrivals } : {}),
      classifyPerSecond: (sizes.texts.length * 1000) / classifyMs,
      peakRssBytes: peer.memory().peakRssBytes,
    };
    logSample(options, sample);
    return sample;
  } finally {
    await peer.stop();
  }
}

async function measureService(options: BenchOptions, modelPath: string, run: number, sizes: Sizes): Promise<Sample> {
  const databasePath = path.join(options.workDir, `peer-${process.pid}-${run}.db`);
  // What a user waits for: `npm start` to ready, timed on its own (npm's processes would count in the peak RSS).
  const npmStart = await startServiceProcess(serviceEnv(options, modelPath, `${databasePath}.npm`), { via: 'npm' });
  await npmStart.stop();
  const service = await startServiceProcess(serviceEnv(options, modelPath, databasePath));
  try {
    const messages = chatMessages(options, sizes, run);
    for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale);
    await chat(service.url, messages.warmUp, 4, run);
    const cpuBackend = loadedCpuBackend(service.child.pid);

    const decode = await chat(service.url, messages.decode, sizes.decodeTokens, run);
    const streams = await measureStreams(service.url, messages.streams, sizes);
    const arrivals = await serviceArrivals(service.url, messages, sizes);
    for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale);
    const classifyStartedAt = performance.now();
    for (const { text, locale } of sizes.texts) await sentimentQuery(service.url, text, locale);
    const classifyMs = performance.now() - classifyStartedAt;
    const batchStartedAt = performance.now();
    for (let start = 0; start < sizes.texts.length; start += sizes.batch) {
      const texts = sizes.texts.slice(start, start + sizes.batch).map((sentence) => sentence.text);
      await postGraphQL(service.url, BATCH, { texts });
    }
    const batchMs = performance.now() - batchStartedAt;
    const sample: Sample = {
      side: 'service',
      slots: REPLY_SLOTS,
      mmap: ENGINE_DEFAULTS.useMmap,
      run,
      readyMs: service.readyMs,
      npmReadyMs: npmStart.readyMs,
      decodeTokensPerSecond: clientTokensPerSecond(decode),
      decodeTokens: decode.tokenCount,
      ...streams,
      arrivals,
      classifyPerSecond: (sizes.texts.length * 1000) / classifyMs,
      batchPerSecond: (sizes.texts.length * 1000) / batchMs,
      ...(cpuBackend === undefined ? {} : { cpuBackend }),
      peakRssBytes: service.memory().peakRssBytes,
    };
    logSample(options, sample);
    return sample;
  } finally {
    await service.stop();
  }
}

/** What newcomers cost a stream that is running, and what the running stream costs them. */
interface ArrivalsSample {
  /** The running stream's longest pause between two text events, from the newcomers' arrival to its end. */
  stallMs: number;
  /** The newcomers' p95 time to first token. */
  ttftP95Ms: number;
}

/**
 * One stream runs (the decode message, its tokens); once it has sent `sizes.arriveAfter` text events, the other streams'
 * messages arrive at once. `start(0)` is the running stream, `start(1…)` the newcomers.
 */
async function measureArrivals(
  sizes: Sizes,
  start: (index: number, onText?: (events: number) => void) => Promise<{ sentAt: number; textAt: number[] }>,
): Promise<ArrivalsSample> {
  let arrivedAt: number | undefined;
  let newcomers: Promise<{ sentAt: number; textAt: number[] }>[] = [];
  const running = await start(0, (events) => {
    if (events !== sizes.arriveAfter) return;
    arrivedAt = performance.now();
    newcomers = Array.from({ length: sizes.streams - 1 }, (_, index) => start(index + 1));
  });
  if (arrivedAt === undefined) throw new Error(`The running stream ended before its text event ${sizes.arriveAfter}.`);
  const traces = await Promise.all(newcomers);
  const since = arrivedAt;
  const gaps = running.textAt.flatMap((at, index) => (index > 0 && at > since ? [at - running.textAt[index - 1]!] : []));
  return {
    stallMs: Math.max(0, ...gaps),
    ttftP95Ms: percentile(traces.map((trace) => (trace.textAt[0] ?? Number.NaN) - trace.sentAt), 95),
  };
}

/** The service's share of the streams figures. */
type StreamsSample = Pick<Sample, 'aggregateTokensPerSecond' | 'streamTokens' | 'ttftP95Ms' | 'startedP95Ms'>;

/** One chat turn on the service over SSE, a new conversation, sampled at its defaults and seeded. */
function chat(url: string, sentence: Sentence, maxTokens: number, seed: number, onText?: (deltas: number) => void) {
  const input = { message: sentence.text, locale: sentence.locale, maxTokens, temperature: SAMPLING_DEFAULTS.temperature, seed };
  return chatOverSse(url, input, onText);
}

/** The concurrent streams, all sent at once, over SSE. */
async function measureStreams(url: string, sentences: Sentence[], sizes: Sizes): Promise<StreamsSample> {
  const startedAt = performance.now();
  const traces = await Promise.all(sentences.map((sentence, index) => chat(url, sentence, sizes.streamTokens, index)));
  const streamTokens = traces.reduce((sum, trace) => sum + trace.tokenCount, 0);
  return {
    aggregateTokensPerSecond: (streamTokens * 1000) / (Math.max(...traces.map((trace) => trace.doneAt)) - startedAt),
    streamTokens,
    ttftP95Ms: percentile(traces.map(serviceTimeToFirstToken), 95),
    startedP95Ms: percentile(traces.map((trace) => trace.startedAt - trace.subscribedAt), 95),
  };
}

/** The streams once more with CHAT_TASKS=none: no verdict before each reply, so the peer's work and no more. */
async function measureServiceWithoutChatTasks(options: BenchOptions, modelPath: string, run: number, sizes: Sizes): Promise<NoTasksSample> {
  const databasePath = path.join(options.workDir, `peer-${process.pid}-${run}-no-chat-tasks.db`);
  const service = await startServiceProcess(serviceEnv(options, modelPath, databasePath, { CHAT_TASKS: 'none' }));
  try {
    const messages = chatMessages(options, sizes, run);
    await chat(service.url, messages.warmUp, 4, run);
    const sample = {
      run,
      ...(await measureStreams(service.url, messages.streams, sizes)),
      arrivals: await serviceArrivals(service.url, messages, sizes),
    };
    options.log(
      `peer (service, CHAT_TASKS=none, run ${run + 1}): aggregate ${sample.aggregateTokensPerSecond.toFixed(1)} tok/s, ` +
        `TTFT p95 ${Math.round(sample.ttftP95Ms)} ms, arrivals: pause ${Math.round(sample.arrivals.stallMs)} ms, ` +
        `TTFT p95 ${Math.round(sample.arrivals.ttftP95Ms)} ms`,
    );
    return sample;
  } finally {
    await service.stop();
  }
}

type NoTasksSample = StreamsSample & { run: number; arrivals: ArrivalsSample };

/** `measureArrivals` on the service: the decode message runs, the newcomers' messages arrive. */
function serviceArrivals(url: string, messages: ReturnType<typeof chatMessages>, sizes: Sizes): Promise<ArrivalsSample> {
  return measureArrivals(sizes, async (index, onText) => {
    const sentence = index === 0 ? messages.decode : messages.arrivals[index - 1]!;
    const trace = await chat(url, sentence, index === 0 ? sizes.decodeTokens : sizes.streamTokens, index, onText);
    return { sentAt: trace.subscribedAt, textAt: trace.deltaAt };
  });
}

/** The same messages on both sides within a run, different ones from run to run. */
function chatMessages(options: BenchOptions, sizes: Sizes, run: number) {
  const perRun = 1 + 2 * sizes.streams;
  const all = mixedSentences(options.sentences, perRun * (run + 1)).slice(perRun * run);
  // The newcomers' messages are new to the process: llama-server would otherwise find their prompts in its slots.
  const arrivals = all.slice(2 + sizes.streams);
  return { all, warmUp: all[0]!, decode: all[1]!, streams: all.slice(2, 2 + sizes.streams), arrivals };
}

function peerTimeToFirstToken(trace: PeerTrace): number {
  return trace.firstTokenAt - trace.sentAt;
}

function serviceTimeToFirstToken(trace: StreamTrace): number {
  return (trace.deltaAt[0] ?? Number.NaN) - trace.subscribedAt;
}

function logSample(options: BenchOptions, sample: Sample): void {
  options.log(
    `peer (${sample.side === 'peer' ? peerLabel(sample) : sample.side}, run ${sample.run + 1}): ` +
      `ready ${Math.round(sample.readyMs)} ms, decode ${sample.decodeTokensPerSecond.toFixed(1)} tok/s, ` +
      `aggregate ${sample.aggregateTokensPerSecond.toFixed(1)} tok/s, TTFT p95 ${Math.round(sample.ttftP95Ms)} ms, ` +
      (sample.arrivals
        ? `arrivals: pause ${Math.round(sample.arrivals.stallMs)} ms, TTFT p95 ${Math.round(sample.arrivals.ttftP95Ms)} ms, `
        : '') +
      `classify ${sample.classifyPerSecond.toFixed(2)}${sample.batchPerSecond ? ` / batches ${sample.batchPerSecond.toFixed(2)}` : ''} texts/s, ` +
      `peak RSS ${Math.round(sample.peakRssBytes / MB)} MB`,
  );
}

function report(
  options: BenchOptions,
  build: PeerBuild,
  modelPath: string,
  sizes: Sizes,
  samples: Sample[],
  withoutChatTasks: NoTasksSample[],
  commands: Map<string, string>,
) {
  const of = (side: Side, slots: number, mmap = true) =>
    samples.filter((sample) => sample.side === side && sample.slots === slots && (side === 'service' || sample.mmap === mmap));
  const service = of('service', REPLY_SLOTS);
  const peers = of('peer', STREAMS);
  const sameKv = of('peer', SAME_KV_SLOTS);
  const sameKvRead = of('peer', SAME_KV_SLOTS, false);
  const replySlots = of('peer', REPLY_SLOTS);
  const measure = <T>(items: T[], pick: (sample: T) => number): Summary => summarize(items.map(pick));
  const streams = `${sizes.streams} concurrent streams × ${sizes.streamTokens} tokens`;
  const figures: Figure[] = [
    figure({
      id: 'decode',
      label: `One stream, decode rate seen by the client (${sizes.decodeTokens} tokens; after the first token)`,
      unit: 'tok/s',
      value: measure(service, (sample) => sample.decodeTokensPerSecond),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.decodeTokensPerSecond) },
      target: { on: 'ratio', op: '>=', threshold: TARGETS.decode },
    }),
    figure({
      id: 'aggregate',
      label: `${streams}, aggregate (service at its defaults)`,
      unit: 'tok/s',
      value: measure(service, (sample) => sample.aggregateTokensPerSecond),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.aggregateTokensPerSecond) },
      target: { on: 'ratio', op: '>=', threshold: TARGETS.aggregate },
    }),
    figure({
      id: 'ttft-p95',
      label: `${streams}, p95 time to first token (per run, from sending the request)`,
      unit: 'ms',
      value: measure(service, (sample) => sample.ttftP95Ms),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.ttftP95Ms) },
      target: { on: 'ratio', op: '<=', threshold: TARGETS.ttftRatio },
    }),
    figure({
      id: 'started-p95',
      label: `${streams}, p95 time to ChatStarted: the service's verdict on each message (and the stored turn) before its reply's prompt, part of its time to first token`,
      unit: 'ms',
      value: measure(service, (sample) => sample.startedP95Ms ?? Number.NaN),
    }),
    figure({
      id: 'aggregate-no-chat-tasks',
      label: `${streams}, aggregate, service with CHAT_TASKS=none (no verdict before each reply; its prompts then lack the peer's tone line)`,
      unit: 'tok/s',
      value: measure(withoutChatTasks, (sample) => sample.aggregateTokensPerSecond),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.aggregateTokensPerSecond) },
    }),
    figure({
      id: 'ttft-p95-no-chat-tasks',
      label: `${streams}, p95 time to first token, service with CHAT_TASKS=none`,
      unit: 'ms',
      value: measure(withoutChatTasks, (sample) => sample.ttftP95Ms),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.ttftP95Ms) },
    }),
    figure({
      id: 'arrivals-stall',
      label: `A running stream's longest pause between two tokens once ${sizes.streams - 1} new streams arrive at once (once it has sent ${sizes.arriveAfter} tokens)`,
      unit: 'ms',
      value: measure(service, (sample) => sample.arrivals?.stallMs ?? Number.NaN),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.arrivals?.stallMs ?? Number.NaN) },
    }),
    figure({
      id: 'arrivals-ttft-p95',
      label: `Those ${sizes.streams - 1} newcomers' p95 time to first token, beside the running stream`,
      unit: 'ms',
      value: measure(service, (sample) => sample.arrivals?.ttftP95Ms ?? Number.NaN),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.arrivals?.ttftP95Ms ?? Number.NaN) },
    }),
    figure({
      id: 'arrivals-ttft-p95-no-chat-tasks',
      label: `The same newcomers' p95 time to first token, service with CHAT_TASKS=none`,
      unit: 'ms',
      value: measure(withoutChatTasks, (sample) => sample.arrivals.ttftP95Ms),
      baseline: { label: peerLabel({ slots: STREAMS }), value: measure(peers, (sample) => sample.arrivals?.ttftP95Ms ?? Number.NaN) },
    }),
    figure({
      id: 'ttft-p95-limit',
      label: `${streams}, p95 time to first token of the service, against the absolute limit`,
      unit: 'ms',
      value: measure(service, (sample) => sample.ttftP95Ms),
      target: { on: 'value', op: '<=', threshold: TARGETS.ttftMs },
    }),
    figure({
      id: 'peak-rss',
      label: `Peak RSS after this work, service at its defaults (${REPLY_SLOTS} reply and ${ENGINE_DEFAULTS.taskSequences} task sequences of ${ENGINE_DEFAULTS.contextSize} tokens)`,
      unit: 'MB',
      value: measure(service, (sample) => sample.peakRssBytes / MB),
      baseline: { label: `${peerLabel({ slots: SAME_KV_SLOTS })} (the same KV cache)`, value: measure(sameKv, (sample) => sample.peakRssBytes / MB) },
      target: { on: 'ratio', op: '<=', threshold: TARGETS.rss },
    }),
    ...(sameKvRead.length === 0
      ? []
      : [
          figure({
            id: 'peak-rss-weights-read',
            label: 'The same peak RSS against llama-server with its weights read into memory too, for contrast',
            unit: 'MB',
            value: measure(service, (sample) => sample.peakRssBytes / MB),
            baseline: {
              label: `${peerLabel({ slots: SAME_KV_SLOTS, mmap: false })} (the same KV cache)`,
              value: measure(sameKvRead, (sample) => sample.peakRssBytes / MB),
            },
          }),
        ]),
    figure({
      id: 'ready',
      label: 'Start to ready (service: `npm start`, its build up to date, to /readyz = 200; peer: process start to /health = 200)',
      unit: 'ms',
      value: measure(service, (sample) => sample.npmReadyMs ?? Number.NaN),
      baseline: { label: peerLabel({ slots: SAME_KV_SLOTS }), value: measure(sameKv, (sample) => sample.readyMs) },
      target: { on: 'value', op: '<=', threshold: TARGETS.readyMs },
    }),
    figure({
      id: 'ready-bundle',
      label: 'Process start to ready, the compiled service started directly (without npm and its prestart)',
      unit: 'ms',
      value: measure(service, (sample) => sample.readyMs),
      baseline: { label: peerLabel({ slots: SAME_KV_SLOTS }), value: measure(sameKv, (sample) => sample.readyMs) },
    }),
    figure({
      id: 'classify',
      label: `Classification, ${sizes.texts.length} texts one at a time (\`sentiment\` queries)`,
      unit: 'texts/s',
      value: measure(service, (sample) => sample.classifyPerSecond),
      baseline: { label: `${peerLabel({ slots: STREAMS })}, one-token completions`, value: measure(peers, (sample) => sample.classifyPerSecond) },
      target: { on: 'ratio', op: '>=', threshold: TARGETS.classify },
    }),
    figure({
      id: 'classify-batches',
      label: `Classification, the same texts in \`sentiments\` batches of ${sizes.batch}`,
      unit: 'texts/s',
      value: measure(service, (sample) => sample.batchPerSecond!),
      baseline: { label: `${peerLabel({ slots: STREAMS })}, one-token completions`, value: measure(peers, (sample) => sample.classifyPerSecond) },
      target: { on: 'ratio', op: '>=', threshold: TARGETS.classify },
    }),
    figure({
      id: 'batch-per-single',
      label: `\`sentiments\` batches of ${sizes.batch} against single \`sentiment\` queries, per text`,
      unit: 'texts/s',
      value: measure(service, (sample) => sample.batchPerSecond!),
      baseline: { label: 'single queries', value: measure(service, (sample) => sample.classifyPerSecond) },
      target: { on: 'ratio', op: '>=', threshold: TARGETS.batchPerSingle },
    }),
  ];
  const find = (id: string) => figures.find((item) => item.id === id)!;
  const versus = (id: string, label: string, target: string, decimals = 1) => {
    const item = find(id);
    const number = (value: number) => formatNumber(Number(value.toFixed(decimals)));
    return [label, `${number(item.baseline!.value.median)} ${item.unit}`, `${number(item.value.median)} ${item.unit}`, `${formatNumber(item.ratio!.value, 3)}×`, target, item.target === undefined ? '' : item.pass ? 'met' : '**missed**'];
  };
  const tables: Table[] = [
    {
      title: 'Versus llama.cpp (medians; ratio = All-in-One / llama-server)',
      columns: ['', 'llama-server', 'All-in-One (defaults)', 'Ratio', 'Target', ''],
      rows: [
        versus('decode', `One stream, decode seen by the client (${sizes.decodeTokens} tokens)`, `≥ ${TARGETS.decode}×`),
        versus('aggregate', `${streams}, aggregate (peer: ${STREAMS} slots)`, `≥ ${TARGETS.aggregate}×`),
        versus('ttft-p95', `${streams}, p95 time to first token`, `≤ ${TARGETS.ttftRatio}× and ≤ ${TARGETS.ttftMs} ms`, 0),
        versus('aggregate-no-chat-tasks', `${streams}, aggregate, CHAT_TASKS=none (no verdict)`, 'for contrast'),
        versus('ttft-p95-no-chat-tasks', `${streams}, p95 time to first token, CHAT_TASKS=none`, 'for contrast', 0),
        versus('arrivals-stall', `One stream running, ${sizes.streams - 1} arrive: its longest pause`, 'for contrast', 0),
        versus('arrivals-ttft-p95', `One stream running, ${sizes.streams - 1} arrive: their p95 time to first token`, 'for contrast', 0),
        versus('arrivals-ttft-p95-no-chat-tasks', `The same, CHAT_TASKS=none`, 'for contrast', 0),
        versus('peak-rss', `Peak RSS (peer: ${SAME_KV_SLOTS} slots, the same KV cache, weights mapped)`, `≤ ${TARGETS.rss}×`, 0),
        ...(sameKvRead.length === 0 ? [] : [versus('peak-rss-weights-read', 'Peak RSS (the same peer, weights read: `--no-mmap`)', 'for contrast', 0)]),
        versus('ready', 'Start to ready (`npm start`)', `≤ ${TARGETS.readyMs} ms`, 0),
        versus('ready-bundle', 'Start to ready, the compiled service started directly', 'for contrast', 0),
        versus('classify', `Classification, ${sizes.texts.length} texts (single queries)`, `≥ ${TARGETS.classify}×`, 2),
        versus('classify-batches', `Classification, ${sizes.texts.length} texts (batches of ${sizes.batch})`, `≥ ${TARGETS.classify}×`, 2),
      ],
    },
    {
      title: 'Every process, in the order run',
      columns: ['Run', 'Side', 'Slots', 'Weights', 'Ready (ms)', 'Decode tok/s (tokens)', 'Aggregate tok/s (tokens)', 'TTFT p95 (ms)', 'Classify texts/s (batches)', 'Peak RSS (MB)'],
      rows: samples.map((sample) => [
        sample.run + 1,
        sample.side === 'peer' ? 'llama-server' : 'All-in-One',
        sample.slots,
        sample.mmap ? 'mapped' : 'read',
        `${Math.round(sample.readyMs)}${sample.npmReadyMs === undefined ? '' : ` (${Math.round(sample.npmReadyMs)})`}`,
        `${sample.decodeTokensPerSecond.toFixed(1)} (${sample.decodeTokens})`,
        `${sample.aggregateTokensPerSecond.toFixed(1)} (${sample.streamTokens})`,
        Math.round(sample.ttftP95Ms),
        `${sample.classifyPerSecond.toFixed(2)}${sample.batchPerSecond === undefined ? '' : ` (${sample.batchPerSecond.toFixed(2)})`}`,
        Math.round(sample.peakRssBytes / MB),
      ]),
    },
  ];
  const contrast = replySlots.length > 0 && REPLY_SLOTS !== SAME_KV_SLOTS;
  return {
    settings: {
      threads: options.threads,
      runs: options.runs,
      model: path.basename(modelPath),
      'llama.cpp commit': build.commit,
      'per-sequence context': ENGINE_DEFAULTS.contextSize,
      'KV cache': `${ENGINE_DEFAULTS.kvCacheType} K and V, flash attention`,
      "the service's CPU backend": [...new Set(samples.flatMap((sample) => sample.cpuBackend ?? []))].join(', ') || 'unknown',
      "the peer's AMX kernels": build.toolchain.amx ? 'built' : 'not built',
    },
    figures,
    tables,
    notes: [
      `The peer is llama.cpp's own server, built natively (GGML_NATIVE=ON, Release) with ${build.toolchain.description}, from the source node-llama-cpp ` +
        `bundles (node_modules/node-llama-cpp/llama/gitRelease.bundle, commit ${build.commit}), cached in ` +
        `${build.dir.replace(os.homedir(), '~')} by \`npm run bench:peer\`. Its command lines: ` +
        [...commands.values()].map((command) => `\`${command}\``).join('; ') +
        '. llama-server splits `-c` evenly across its `-np` slots, so each slot has the service\'s per-sequence context.',
      'Each run starts every process afresh, one at a time (nothing else runs beside the process measured), and ' +
        'alternates which side goes first. Both sides get the same messages and do the same model work: the service\'s ' +
        'exact chat prompt for a new conversation (system prompt with the tone line of the message\'s label, the ' +
        'message, the assistant lead; the peer\'s prompt is built from the same parts and labelled by the same ' +
        'classification, untimed), sampled with the service\'s defaults (temperature, top-p, top-k 40, repeat penalty ' +
        'over the last 64 tokens), seeded, over SSE on loopback. The peer ignores the end of generation; the service ' +
        'counts the tokens it actually generated (shown in brackets in the per-process table).',
      'Decode: tokens after the first over the time from the first to the last streamed token. Aggregate: all ' +
        'streams\' tokens over the time from sending the first request to the last stream\'s end. Time to first ' +
        'token: from sending the request to the first event with text; the service\'s includes its verdict on the ' +
        'message (a sentiment classification before the reply) and storing the turn. The streams run once more on a ' +
        'service started with CHAT_TASKS=none (no verdict, so the same model work as the peer\'s but its prompts lack ' +
        'the tone line), for contrast: what the verdict costs. Then one stream runs alone (the decode message) and, after ' +
        'its first tokens, the other messages arrive at once: the running stream\'s longest pause between two tokens ' +
        'from then on, and the newcomers\' first tokens (the peer\'s 8-slot process). llama-server evaluates every ' +
        'waiting prompt in the next decode, so a running stream waits for them; the service lets a decode carry only ' +
        'so many prompt tokens beside generating replies (PROMPT_TOKENS_BESIDE_REPLIES), so a running reply keeps ' +
        'its pace and newcomers take a few decodes longer.',
      `Classification: the peer runs the engine's sentiment prompt as a one-token completion with \`cache_prompt\` ` +
        '(the constant prefix stays in the slot), the label tokens lifted by a logit bias and read from the ' +
        'probabilities after sampling (top-k = the label tokens), as the engine reads them; the service answers ' +
        '`sentiment` queries one at a time, then the same texts as `sentiments` batches.',
      'Peak RSS is the sum of VmHWM over the process and its children, read after all of the work above; the model ' +
        `file is memory-mapped by llama-server, ${ENGINE_DEFAULTS.useMmap ? 'and by the service too' : 'read into memory by the service (its default USE_MMAP=false)'}. ` +
        'Where llama.cpp repacks weights for the CPU (AMX), a mapped file\'s pages stay resident beside the repacked ' +
        'copy; llama-server with `--no-mmap` is measured too, holding its weights as the service does. ' +
        'llama-server keeps its default prompt cache in RAM (`--cache-ram`).' +
        (contrast
          ? ` The per-process table also has llama-server with only the service's ${REPLY_SLOTS} reply slots ` +
            `(${REPLY_SLOTS} × ${ENGINE_DEFAULTS.contextSize} tokens of KV cache), for contrast.`
          : ''),
      'The service starts with its default TASK_STATES_DIR (inside the models folder), so a start after the first ' +
        'loads the saved instruction states (and skips the load test of a llama.cpp binary that passed it), as a ' +
        'restart of `npm start` does. Start to ready is timed on `npm start` itself, a process of its own before each ' +
        "run's service (npm's processes would otherwise count in the peak RSS): npm, its prestart finding the build " +
        'made before the runs up to date, and the compiled service. The per-process table shows the compiled service ' +
        'started directly, and the `npm start` time in brackets.',
    ],
  };
}

if (isMainModule(import.meta.url)) await runStandalone(peer);

/**
 * The ggml CPU backend library node-llama-cpp loaded into the service, from its memory maps (Linux): with a peer built
 * without AMX, an AMX variant on the service's side means the two do not run the same kernels.
 */
function loadedCpuBackend(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return /libggml-cpu[\w.-]*\.so/.exec(readFileSync(`/proc/${pid}/maps`, 'utf8'))?.[0];
  } catch {
    return undefined;
  }
}

/** How the report names a llama-server process: its slots, and `--no-mmap` when it read its weights. */
function peerLabel(variant: { slots: number; mmap?: boolean }): string {
  return `llama-server, ${variant.slots} slots${variant.mmap === false ? ', --no-mmap' : ''}`;
}
