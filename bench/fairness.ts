// Benchmark 3: a sentiment query's latency while a 300-token reply streams, vs idle; step-level interleaving
// (the engine) against a whole-job mutex (the naive design); and one API key's query while another key floods.
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
import { chatOverWebSocket, clientTokensPerSecond, sentimentQuery } from './lib/clients.js';
import { loadBenchEngine } from './lib/engine.js';
import { startInProcessService, type InProcessService } from './lib/inProcessService.js';
import { figure, type Figure, type Table } from './lib/results.js';
import { mixedSentences } from './lib/sentences.js';
import { startServiceProcess } from './lib/serviceProcess.js';
import { summarize } from './lib/stats.js';
import type { MutexScope } from '../src/engine/index.js';

const MAX_REPLY_ATTEMPTS = 5;

interface ModeMeasurement {
  idleMs: number[];
  busyMs: number[];
  /** When each busy query was sent, in ms after the reply's first token. */
  sentAfterMs: number[];
  replyTokensPerSecond: number;
  replyMs: number;
  replyTokens: number;
}

export const fairness: Benchmark = {
  id: 'fairness',
  title: '3. Fairness: sentiment while a reply streams',
  async run(options) {
    const replyTokens = sized(options, 300, 40);
    const queries = sized(options, 8, 1);
    const gapMs = sized(options, 900, 20);
    const sentences = mixedSentences(options.sentences, queries);
    const modes: Record<MutexScope, ModeMeasurement> = {
      step: await measureMode(options, 'step', sentences, gapMs, replyTokens),
      job: await measureMode(options, 'job', sentences, gapMs, replyTokens),
    };
    const share = await measureFairShare(options);

    const figures: Figure[] = (['step', 'job'] as const).map((mode) =>
      figure({
        id: `sentiment-during-reply-${mode}`,
        label:
          mode === 'step'
            ? `Sentiment query during a ${replyTokens}-token reply (engine: mutex per step)`
            : 'Same with a whole-job mutex (the naive design, for contrast)',
        unit: 'ms',
        value: summarize(modes[mode].busyMs),
        baseline: { label: 'idle', value: summarize(modes[mode].idleMs) },
        ...(mode === 'step' ? { target: { on: 'ratio' as const, op: '<=' as const, threshold: 2 } } : {}),
      }),
    );
    figures.push(
      figure({
        id: 'fair-share-latency',
        label: `Key B's sentiment query while key A floods ${share.floodChats} concurrent chats`,
        unit: 'ms',
        value: summarize(share.busyMs),
        baseline: { label: "B's query idle", value: summarize(share.idleMs) },
        target: { on: 'ratio' as const, op: '<=' as const, threshold: 2 },
      }),
      figure({
        id: 'fair-share-refused',
        label: "Key B's queries refused while key A floods",
        unit: 'queries',
        value: summarize([share.refusedB]),
        target: { on: 'value', op: '<=', threshold: 0 },
      }),
    );
    const tables: Table[] = [
      {
        title: 'Each query during the reply',
        columns: ['Query', 'Sent after first token (ms), step', 'Latency step (ms)', 'Sent (ms), job', 'Latency job (ms)'],
        rows: modes.step.busyMs.map((ms, index) => [
          index + 1,
          Math.round(modes.step.sentAfterMs[index]!),
          ms,
          modes.job.sentAfterMs[index] === undefined ? '—' : Math.round(modes.job.sentAfterMs[index]!),
          modes.job.busyMs[index] ?? '—',
        ]),
      },
      {
        title: 'The reply itself',
        columns: ['Mutex', 'Reply tokens', 'Reply duration (ms)', 'Decode rate seen by the client (tok/s)'],
        rows: (['step', 'job'] as const).map((mode) => [
          mode,
          modes[mode].replyTokens,
          Math.round(modes[mode].replyMs),
          modes[mode].replyTokensPerSecond,
        ]),
      },
    ];
    tables.push({
      title: `Fair share: key A sends ${share.floodChats} chats at once (${share.floodTokens} tokens each), key B sentiment queries meanwhile`,
      columns: [
        "A's chats served",
        "A's chats refused (ENGINE_BUSY, A's share of the queue)",
        "B's queries",
        "B's refused",
        "B's latencies (ms)",
      ],
      rows: [
        [
          share.servedA,
          share.refusedA,
          share.busyMs.length + share.refusedB,
          share.refusedB,
          share.busyMs.map(Math.round).join(' '),
        ],
      ],
    });
    return {
      settings: {
        threads: options.threads,
        'reply tokens': replyTokens,
        'queries per mode': queries,
        'gap between queries (ms)': gapMs,
      },
      figures,
      tables,
      notes: [
        "Latency is the client's round trip of a `sentiment` query over HTTP (classification and storage included), in " +
          'the whole service running in the benchmark process; the reply streams over graphql-ws at the same time.',
        "Queries are sent at fixed intervals from the reply's first token on, without waiting for each other, so with " +
          "a whole-job mutex each waits for the rest of the reply. `mutexScope: 'job'` is an engine option that exists " +
          'for this comparison (a unit test covers it); the service always uses `step`.',
        "English and Chinese queries alternate; the task sequences hold each locale's saved instructions.",
        'Fair share runs the real service with two API keys and its default queue bounds (MAX_QUEUE, MAX_QUEUE_PER_KEY): ' +
          "admission serves the key served longest ago, so B's query (and each of A's chats' classification) takes " +
          "its turn instead of waiting behind A's backlog, and A's flood is refused before B is.",
      ],
    };
  },
};

async function measureMode(
  options: Parameters<Benchmark['run']>[0],
  mode: MutexScope,
  sentences: ReturnType<typeof mixedSentences>,
  gapMs: number,
  replyTokens: number,
): Promise<ModeMeasurement> {
  const engine = await loadBenchEngine(options, { mutexScope: mode });
  const service = await startInProcessService(engine, path.join(options.workDir, `fairness-${mode}-${process.pid}.db`));
  try {
    for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale);
    const idleMs: number[] = [];
    for (const { text, locale } of sentences) idleMs.push((await sentimentQuery(service.url, text, locale)).ms);

    // A sampled reply may end early at an end-of-turn token; such an attempt is discarded and another seed tried.
    for (let seed = 1; ; seed += 1) {
      const attempt = await queriesDuringReply(service, sentences, gapMs, replyTokens, seed);
      if (attempt.trace.tokenCount >= replyTokens || seed >= MAX_REPLY_ATTEMPTS) {
        const busyMs = await Promise.all(attempt.busy);
        options.log(
          `fairness (${mode}): idle ${idleMs.map(Math.round).join(' ')} ms; during the reply ${busyMs.map(Math.round).join(' ')} ms`,
        );
        return {
          idleMs,
          busyMs,
          sentAfterMs: attempt.sentAfterMs,
          replyTokensPerSecond: clientTokensPerSecond(attempt.trace),
          replyMs: attempt.trace.doneAt - attempt.trace.startedAt,
          replyTokens: attempt.trace.tokenCount,
        };
      }
      await Promise.all(attempt.busy);
    }
  } finally {
    await service.stop();
    await engine.dispose();
  }
}

/** Streams one reply and sends the queries at fixed intervals from its first token on, without awaiting them. */
async function queriesDuringReply(
  service: InProcessService,
  sentences: ReturnType<typeof mixedSentences>,
  gapMs: number,
  replyTokens: number,
  seed: number,
) {
  let firstToken!: () => void;
  const firstTokenSeen = new Promise<void>((resolve) => (firstToken = resolve));
  let replyDone = false;
  const reply = chatOverWebSocket(
    service.wsUrl,
    { message: 'Tell me a long story about your day.', locale: 'en', maxTokens: replyTokens, temperature: 0.7, seed },
    () => firstToken(),
  ).finally(() => (replyDone = true));
  await Promise.race([firstTokenSeen, reply]);
  const firstTokenAt = performance.now();
  const busy: Promise<number>[] = [];
  const sentAfterMs: number[] = [];
  for (const { text, locale } of sentences) {
    if (replyDone) break;
    sentAfterMs.push(performance.now() - firstTokenAt);
    busy.push(sentimentQuery(service.url, text, locale).then((answer) => answer.ms));
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return { trace: await reply, busy, sentAfterMs };
}
const KEY_A = 'fair-share-key-a-0123456789';
const KEY_B = 'fair-share-key-b-0123456789';

interface FairShare {
  floodChats: number;
  floodTokens: number;
  idleMs: number[];
  busyMs: number[];
  refusedB: number;
  servedA: number;
  refusedA: number;
}

/** Key A floods the service with chats; key B's sentiment queries must stay about as fast as when idle. */
async function measureFairShare(options: BenchOptions): Promise<FairShare> {
  const floodChats = sized(options, 16, 4);
  const floodTokens = sized(options, 64, 4);
  const modelPath = await benchModelPath(options);
  const service = await startServiceProcess(
    serviceEnv(options, modelPath, path.join(options.workDir, `fair-share-${process.pid}.db`), {
      API_KEYS: `${KEY_A},${KEY_B}`,
    }),
  );
  const sentences = mixedSentences(options.sentences, sized(options, 8, 2));
  try {
    for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale, KEY_B);
    const idleMs: number[] = [];
    for (const { text, locale } of sentences) idleMs.push((await sentimentQuery(service.url, text, locale, KEY_B)).ms);
    let floodDone = false;
    const flood = Promise.allSettled(
      Array.from({ length: floodChats }, (_, index) =>
        chatOverWebSocket(
          service.wsUrl,
          { message: `Tell me about item ${index}.`, locale: 'en', maxTokens: floodTokens, seed: index },
          undefined,
          KEY_A,
        ),
      ),
    ).finally(() => (floodDone = true));
    // B's queries start once A's chats are all in the queue, and keep coming while they are served.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const busyMs: number[] = [];
    let refusedB = 0;
    for (let index = 0; !floodDone || index < 2; index += 1) {
      const { text, locale } = sentences[index % sentences.length]!;
      try {
        busyMs.push((await sentimentQuery(service.url, text, locale, KEY_B)).ms);
      } catch {
        refusedB += 1;
      }
      if (floodDone) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const outcomes = await flood;
    const servedA = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    options.log(
      `fairness (keys): B idle ${idleMs.map(Math.round).join(' ')} ms; during A's flood ${busyMs.map(Math.round).join(' ')} ms`,
    );
    return { floodChats, floodTokens, idleMs, busyMs, refusedB, servedA, refusedA: floodChats - servedA };
  } finally {
    await service.stop();
  }
}

if (isMainModule(import.meta.url)) await runStandalone(fairness);
