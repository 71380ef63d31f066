// Benchmark 3: a sentiment query's latency while a 300-token reply streams, vs idle; step-level interleaving
// (the engine) against a whole-job mutex (the naive design).
import path from 'node:path';
import { isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { chatOverWebSocket, clientTokensPerSecond, sentimentQuery } from './lib/clients.js';
import { loadBenchEngine } from './lib/engine.js';
import { startInProcessService, type InProcessService } from './lib/inProcessService.js';
import { figure, type Figure, type Table } from './lib/results.js';
import { mixedSentences } from './lib/sentences.js';
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
    return {
      settings: { threads: options.threads, 'reply tokens': replyTokens, 'queries per mode': queries, 'gap between queries (ms)': gapMs },
      figures,
      tables,
      notes: [
        'Latency is the client\'s round trip of a `sentiment` query over HTTP (classification and storage included), in ' +
          'the whole service running in the benchmark process; the reply streams over graphql-ws at the same time.',
        'Queries are sent at fixed intervals from the reply\'s first token on, without waiting for each other, so with ' +
          'a whole-job mutex each waits for the rest of the reply. `mutexScope: \'job\'` is an engine option that exists ' +
          'for this comparison (a unit test covers it); the service always uses `step`.',
        'English and Chinese queries alternate; each locale has its own warm sentiment sequence.',
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
        options.log(`fairness (${mode}): idle ${idleMs.map(Math.round).join(' ')} ms; during the reply ${busyMs.map(Math.round).join(' ')} ms`);
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
if (isMainModule(import.meta.url)) await runStandalone(fairness);
