// Benchmark 15: background work (analysis jobs' items) on the engine's spare capacity — its throughput against the
// same tasks as back-to-back single queries, and what it costs a person's paced queries meanwhile (issue 20).
import { benchModelPath, isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { loadBenchEngine } from './lib/engine.js';
import { figure } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { percentile, summarize, type Summary } from './lib/stats.js';
import { ENGINE_DEFAULTS, type CycleReport, type Engine } from '../src/engine/index.js';
import { IN_USE_WINDOW_MS } from '../src/engine/Scheduler.js';

/** What an analysis job of the issue runs on every item. */
const JOB_TASKS = ['sentiment', 'intent'];
/** A job's items per second may lose at most 10% against the same tasks as single queries (issue 20). */
const THROUGHPUT_TARGET_RATIO = 0.9;
/** A sentiment query's p95 during a running job may be at most 1.5× its idle p95 (issue 20). */
const LATENCY_TARGET_RATIO = 1.5;
/** One query every so often, like a person at the page: the engine never stays quiet in between. */
const QUERY_PACE_MS = 300;
/** Replies streamed at once, each starting when the one before it ends, so the engine is never idle. */
const BUSY_STREAMS = 2;
/** Tokens of each of those replies. */
const BUSY_REPLY_TOKENS = 64;
/**
 * What the background load may take of the decode time while replies keep the engine busy: its share, and a point
 * more for the JavaScript around its decodes (their measured time is what it is charged).
 */
const BUSY_SHARE_LIMIT_PERCENT = ENGINE_DEFAULTS.backgroundSharePercent + 1;

export const backgroundWork: Benchmark = {
  id: 'background',
  title: '15. Background work: analysis jobs on spare capacity',
  async run(options) {
    await benchModelPath(options);
    const texts = mixedSentences(options.sentences, sized(options, 48, 4));
    const queries = mixedSentences(options.sentences, sized(options, 40, 3));
    const workers = ENGINE_DEFAULTS.backgroundSequences;
    const cycles: CycleReport[] = [];
    const engine = await loadBenchEngine(options, { onCycle: (report) => cycles.push(report) });
    const foregroundRate: number[] = [];
    const backgroundRate: number[] = [];
    const idleMs: number[] = [];
    const busyMs: number[] = [];
    const sharedDecodes: number[] = [];
    const shareWhileBusy: number[] = [];
    const jobWhileBusy: number[] = [];
    const busyReplies = sized(options, 8, 2);
    try {
      // Warm-up: every task's instructions loaded once into task and background sequences alike.
      for (const { text, locale } of texts.slice(0, 2)) {
        await engine.runTasks(text, JOB_TASKS, { locale });
        await runInBackground(engine, [{ text, locale }], workers);
      }
      for (let run = 0; run < options.runs; run += 1) {
        // The order alternates run by run, so neither side always meets a warmer (or hotter) machine.
        const sides = [
          async () => foregroundRate.push(await ratePerSecond(texts.length, () => runInForeground(engine, texts))),
          async () => {
            // A job runs for minutes: measure its steady state on a quiet engine, not the first second after the
            // previous side's last query, when background cycles are still kept small.
            await new Promise((resolve) => setTimeout(resolve, IN_USE_WINDOW_MS));
            const from = cycles.length;
            backgroundRate.push(await ratePerSecond(texts.length, () => runInBackground(engine, texts, workers)));
            const withBackground = cycles.slice(from).filter((cycle) => cycle.background > 0);
            sharedDecodes.push(withBackground.reduce((sum, cycle) => sum + cycle.background, 0) / withBackground.length);
          },
          async () => idleMs.push(...(await pacedQueries(engine, queries))),
          async () => busyMs.push(...(await duringBackgroundLoad(engine, texts, workers, () => pacedQueries(engine, queries)))),
          async () => {
            let done = 0;
            const from = cycles.length;
            const startedAt = performance.now();
            await duringBackgroundLoad(engine, texts, workers, () => backToBackReplies(engine, queries, busyReplies), () => (done += 1));
            jobWhileBusy.push(done / ((performance.now() - startedAt) / 1000));
            const busy = cycles.slice(from);
            const backgroundMs = busy.filter((cycle) => cycle.background > 0).reduce((sum, cycle) => sum + cycle.ms, 0);
            shareWhileBusy.push((100 * backgroundMs) / busy.reduce((sum, cycle) => sum + cycle.ms, 0));
          },
        ];
        const ordered = run % 2 === 0 ? sides : [sides[1]!, sides[0]!, sides[3]!, sides[2]!, sides[4]!];
        for (const side of ordered) await side();
      }
    } finally {
      await engine.dispose();
    }
    const p95 = (samples: number[]): Summary => ({ ...summarize(samples), median: percentile(samples, 95) });
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        texts: `${texts.length} (English and Chinese alternating)`,
        tasks: JOB_TASKS.join(' + '),
        'background sequences (JOB_SEQUENCES)': workers,
        'paced queries': `${queries.length} sentiment queries, one every ${QUERY_PACE_MS} ms`,
        'back-to-back replies': `${BUSY_STREAMS} at once, ${busyReplies} each of ${BUSY_REPLY_TOKENS} tokens, every next one sent when one ends`,
        'background share (JOB_MIN_SHARE)': `${ENGINE_DEFAULTS.backgroundSharePercent}%`,
      },
      figures: [
        figure({
          id: 'job-throughput',
          label: `Background runTasks (${JOB_TASKS.join(' + ')}), ${workers} at a time: texts per second`,
          unit: 'texts/s',
          value: summarize(backgroundRate),
          baseline: { label: 'the same texts as back-to-back single foreground runTasks', value: summarize(foregroundRate) },
          target: { on: 'ratio', op: '>=', threshold: THROUGHPUT_TARGET_RATIO },
        }),
        figure({
          id: 'sentiment-p95-during-job',
          label: `Sentiment query latency, p95 (in the median column), paced one every ${QUERY_PACE_MS} ms during a background load`,
          unit: 'ms',
          value: p95(busyMs),
          baseline: { label: 'p95 idle, same pace', value: p95(idleMs) },
          target: { on: 'ratio', op: '<=', threshold: LATENCY_TARGET_RATIO },
        }),
        figure({
          id: 'job-share-while-busy',
          label: `Background work's part of the decode time while ${BUSY_STREAMS} reply streams back to back never leave the engine idle (its minimum share, JOB_MIN_SHARE ${ENGINE_DEFAULTS.backgroundSharePercent}%)`,
          unit: '%',
          value: summarize(shareWhileBusy),
          target: { on: 'value', op: '<=', threshold: BUSY_SHARE_LIMIT_PERCENT },
        }),
        figure({
          id: 'job-while-busy',
          label: `Background texts per second (${JOB_TASKS.join(' + ')}) while those replies never leave the engine idle`,
          unit: 'texts/s',
          value: summarize(jobWhileBusy),
          baseline: { label: 'background texts per second on a quiet engine', value: summarize(backgroundRate) },
        }),
        figure({
          id: 'background-steps-per-decode',
          label: 'Background steps per decode that carried any, while only background work ran (several sequences in one decode)',
          unit: 'steps',
          value: summarize(sharedDecodes),
        }),
      ],
      tables: [],
      notes: [
        "Throughput is the engine's own in this process (no database, no API): what the batch machinery costs or " +
          'gains against single queries, on the stand-in model (random weights: labels mean nothing, costs are real).',
        'The background load during the paced queries is the same texts run again and again until the queries end; ' +
          'its steps wait for every interactive job, and while one ran within the last second they carry one small ' +
          'prompt chunk per decode.',
        `While replies stream back to back the engine is never idle, so the background load advances only by its ` +
          `minimum share (JOB_MIN_SHARE, ${ENGINE_DEFAULTS.backgroundSharePercent}% of the busy decode time): a decode ` +
          'of its own, of one small prompt chunk, each time it is owed one. Without a share it would not advance at all. ' +
          'Its part is the time of the decodes that carried background steps against the time of every decode meanwhile ' +
          "(each from its steps' start to the last one settled). The replies' own rate is left out: on the stand-in's " +
          'random weights a reply ends where its sampled end token falls, which moves with the batch it shares, so two ' +
          'runs of the same replies differ by a fifth in tokens per second.',
      ],
    };
  },
};

async function ratePerSecond(count: number, work: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return count / ((performance.now() - startedAt) / 1000);
}

async function runInForeground(engine: Engine, texts: readonly Sentence[]): Promise<void> {
  for (const { text, locale } of texts) await engine.runTasks(text, JOB_TASKS, { locale });
}

/**
 * The texts as background jobs, `workers` at a time (what a job runner does), until done or `signal` aborts;
 * `onText` hears of each text done.
 */
async function runInBackground(
  engine: Engine,
  texts: readonly Sentence[],
  workers: number,
  signal?: AbortSignal,
  onText: () => void = () => {},
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < texts.length && !signal?.aborted) {
      const { text, locale } = texts[next++]!;
      await engine.runTasks(text, JOB_TASKS, { locale, background: true, ...(signal ? { signal } : {}) });
      onText();
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/** Runs `measure` while background jobs keep running over the texts, then stops them; `onText` hears of each text done. */
async function duringBackgroundLoad<T>(
  engine: Engine,
  texts: readonly Sentence[],
  workers: number,
  measure: () => Promise<T>,
  onText?: () => void,
): Promise<T> {
  const stop = new AbortController();
  const load = (async () => {
    while (!stop.signal.aborted) await runInBackground(engine, texts, workers, stop.signal, onText);
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });
  try {
    return await measure();
  } finally {
    stop.abort();
    await load;
  }
}

/** `BUSY_STREAMS` replies at once, each stream sending its next message when a reply ends: generated tokens per second. */
async function backToBackReplies(engine: Engine, messages: readonly Sentence[], repliesPerStream: number): Promise<number> {
  const startedAt = performance.now();
  let tokens = 0;
  const stream = async (offset: number): Promise<void> => {
    for (let index = 0; index < repliesPerStream; index += 1) {
      const { text, locale } = messages[(offset + index) % messages.length]!;
      const reply = engine.chat({ history: [], message: text, locale, temperature: 0.7, seed: index, maxTokens: BUSY_REPLY_TOKENS });
      for await (const _ of reply);
      tokens += (await reply.result).completionTokens;
    }
  };
  await Promise.all(Array.from({ length: BUSY_STREAMS }, (_, index) => stream(index * repliesPerStream)));
  return tokens / ((performance.now() - startedAt) / 1000);
}

/** One sentiment query every QUERY_PACE_MS (or as soon as the one before ends): each one's latency. */
async function pacedQueries(engine: Engine, queries: readonly Sentence[]): Promise<number[]> {
  const latencies: number[] = [];
  const startedAt = performance.now();
  for (const [index, { text, locale }] of queries.entries()) {
    const due = startedAt + index * QUERY_PACE_MS - performance.now();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    const sentAt = performance.now();
    await engine.runTasks(text, ['sentiment'], { locale });
    latencies.push(performance.now() - sentAt);
  }
  return latencies;
}

if (isMainModule(import.meta.url)) await runStandalone(backgroundWork);
