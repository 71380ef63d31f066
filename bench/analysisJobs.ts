// Benchmark 16: analysis jobs on the real service process. A job's items per second against the same tasks as
// back-to-back `analyze` queries, and what a running job costs the people using the service meanwhile: a sentiment
// query's p95 and a chat's time to first token, idle against during a 5,000-item job.
import path from 'node:path';
import { benchModelPath, isMainModule, runStandalone, serviceEnv, sized, type Benchmark } from './lib/benchmark.js';
import { chatOverWebSocket, postGraphQL, sentimentQuery } from './lib/clients.js';
import { IN_USE_WINDOW_MS } from '../src/engine/Scheduler.js';
import { figure } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { startServiceProcess, type ServiceProcess } from './lib/serviceProcess.js';
import { percentile, summarize } from './lib/stats.js';

/** The targets: job throughput at least 0.9× single queries; interactive p95 at most 1.5× idle. */
const THROUGHPUT_TARGET = 0.9;
const INTERACTIVE_TARGET = 1.5;
const TASKS = ['sentiment', 'intent'];
/** Items per addAnalysisItems call (the API's limit). */
const CHUNK = 1000;
/** A sentiment query every this often while measuring latency: paced, like people, not a flood. */
const PACE_MS = 300;
const CHAT_TOKENS = 8;
/** Bounds every wait on a job's state: a job that never gets there is a failure, not a hang. */
const JOB_WAIT_LIMIT_MS = 15 * 60_000;
/** How often the client looks at a job; the job's own times are what the rate is computed from. */
const POLL_MS = 250;

const JOB_FIELDS = 'id status total processed failed startedAt finishedAt';

interface JobState {
  id: string;
  status: string;
  total: number;
  processed: number;
  failed: number;
  startedAt: string | null;
  finishedAt: string | null;
}

export const analysisJobs: Benchmark = {
  id: 'analysis-jobs',
  title: '16. Analysis jobs: throughput against single queries, and interactive latency during a job',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const databasePath = path.join(options.workDir, `analysis-jobs-${process.pid}.db`);
    const service = await startServiceProcess(serviceEnv(options, modelPath, databasePath));
    const throughputItems = sized(options, 48, 4);
    const bigJobItems = sized(options, 5000, 40);
    const pacedQueries = sized(options, 60, 3);
    const chats = sized(options, 4, 1);
    const jobRate: number[] = [];
    const queryRate: number[] = [];
    /** One p95 per run and side: the figure is their median, like every other figure here. */
    const idleSentimentP95: number[] = [];
    const busySentimentP95: number[] = [];
    const sentimentMedians = { idle: [] as number[], busy: [] as number[] };
    const idleTtftMs: number[] = [];
    const busyTtftMs: number[] = [];
    const failedItems: number[] = [];
    try {
      const sentences = mixedSentences(options.sentences, throughputItems);
      for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale);
      for (let run = 0; run < options.runs; run += 1) {
        // Alternating within each run, so a drift of the machine's speed lands on both sides.
        queryRate.push(await backToBackRate(service, sentences));
        const job = await runJob(service, `throughput-${run}`, sentences);
        jobRate.push(job.rate);
        failedItems.push(job.failed);

        const idle = await pacedSentiments(service, sentences, pacedQueries);
        idleSentimentP95.push(percentile(idle, 95));
        sentimentMedians.idle.push(...idle);
        idleTtftMs.push(...(await timesToFirstToken(service, chats, run)));
        const big = await startJob(service, `latency-${run}`, repeated(sentences, bigJobItems));
        await waitFor(service, big, (state) => state.processed > 0);
        const busy = await pacedSentiments(service, sentences, pacedQueries);
        busySentimentP95.push(percentile(busy, 95));
        sentimentMedians.busy.push(...busy);
        busyTtftMs.push(...(await timesToFirstToken(service, chats, run)));
        const during = await jobState(service, big);
        if (during.status !== 'RUNNING') throw new Error(`The 5,000-item job was ${during.status} while measured, not RUNNING.`);
        await postGraphQL(service.url, `mutation ($id: ID!) { cancelAnalysisJob(id: $id) { status } }`, { id: big });
      }
    } finally {
      await service.stop();
    }
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        tasks: TASKS.join(', '),
        'items per throughput job': throughputItems,
        'items in the job running beside interactive work': bigJobItems,
        'sentiment queries per block': `${pacedQueries}, one every ${PACE_MS} ms`,
        'chats per block': `${chats} × ${CHAT_TOKENS} tokens`,
      },
      figures: [
        figure({
          id: 'job-throughput',
          label: `a job's items per second (${TASKS.join(' + ')} per item)`,
          unit: 'items/s',
          value: summarize(jobRate),
          baseline: { label: 'the same texts as back-to-back analyze queries', value: summarize(queryRate) },
          target: { on: 'ratio', op: '>=', threshold: THROUGHPUT_TARGET },
        }),
        figure({
          id: 'sentiment-p95-during-job',
          label: 'sentiment query p95 while a job runs',
          unit: 'ms',
          value: summarize(busySentimentP95),
          baseline: { label: 'idle', value: summarize(idleSentimentP95) },
          target: { on: 'ratio', op: '<=', threshold: INTERACTIVE_TARGET },
          note: `each run's p95; the queries' medians ${Math.round(summarize(sentimentMedians.busy).median)} ms during, ${Math.round(summarize(sentimentMedians.idle).median)} ms idle`,
        }),
        figure({
          id: 'chat-ttft-during-job',
          label: 'chat time to first token (median) while a job runs',
          unit: 'ms',
          value: summarize(busyTtftMs),
          baseline: { label: 'idle', value: summarize(idleTtftMs) },
          target: { on: 'ratio', op: '<=', threshold: INTERACTIVE_TARGET },
        }),
      ],
      tables: [],
      notes: [
        'The service is the real process (`npm start`\'s bundle) on SQLite; the job runs on its background sequences.',
        `A throughput job starts after ${IN_USE_WINDOW_MS + 500} ms without interactive work (its rate from its own startedAt and finishedAt); within ${IN_USE_WINDOW_MS} ms of interactive work background decodes carry small chunks by design, which the latency figures are about.`,
        `Items that failed in the throughput jobs: ${failedItems.reduce((sum, count) => sum + count, 0)} (should be 0).`,
      ],
    };
  },
};

async function backToBackRate(service: ServiceProcess, sentences: readonly Sentence[]): Promise<number> {
  const startedAt = performance.now();
  for (const { text } of sentences) {
    await postGraphQL(service.url, `query ($text: String!, $tasks: [String!]) { analyze(text: $text, tasks: $tasks) { locale } }`, {
      text,
      tasks: TASKS,
    });
  }
  return sentences.length / ((performance.now() - startedAt) / 1000);
}

/** A whole job from its start to DONE as the client sees it (the upload before the start is not counted). */
/**
 * A whole job, its rate from its own times (first claim to last item stored). It starts once the engine has been
 * quiet for longer than the in-use window: right after interactive work, background steps are kept small on purpose
 * (that trade is what the latency figures measure), and this figure is about the batch machinery's cost.
 */
async function runJob(service: ServiceProcess, name: string, sentences: readonly Sentence[]): Promise<{ rate: number; failed: number }> {
  const id = await createJob(service, name, sentences);
  await new Promise((resolve) => setTimeout(resolve, IN_USE_WINDOW_MS + 500));
  await postGraphQL(service.url, `mutation ($id: ID!) { startAnalysisJob(id: $id) { status } }`, { id });
  const done = await waitFor(service, id, (state) => ['DONE', 'FAILED', 'CANCELLED'].includes(state.status));
  if (done.status !== 'DONE' || !done.startedAt || !done.finishedAt) throw new Error(`Job ${name} ended ${done.status}.`);
  const seconds = (Date.parse(done.finishedAt) - Date.parse(done.startedAt)) / 1000;
  return { rate: done.total / seconds, failed: done.failed };
}

async function startJob(service: ServiceProcess, name: string, sentences: readonly Sentence[]): Promise<string> {
  const id = await createJob(service, name, sentences);
  await postGraphQL(service.url, `mutation ($id: ID!) { startAnalysisJob(id: $id) { status } }`, { id });
  return id;
}

async function createJob(service: ServiceProcess, name: string, sentences: readonly Sentence[]): Promise<string> {
  const created = await postGraphQL<{ createAnalysisJob: { id: string } }>(
    service.url,
    `mutation ($input: CreateAnalysisJobInput!) { createAnalysisJob(input: $input) { id } }`,
    { input: { name, tasks: TASKS } },
  );
  const id = created.data.createAnalysisJob.id;
  for (let start = 0; start < sentences.length; start += CHUNK) {
    const items = sentences.slice(start, start + CHUNK).map(({ text }, index) => ({
      text,
      externalId: String(start + index + 1),
      tags: [{ key: 'block', value: String(Math.floor((start + index) / 100)) }],
    }));
    await postGraphQL(service.url, `mutation ($id: ID!, $items: [AnalysisItemInput!]!) { addAnalysisItems(jobId: $id, items: $items) { total } }`, {
      id,
      items,
    });
  }
  return id;
}

async function jobState(service: ServiceProcess, id: string): Promise<JobState> {
  const answer = await postGraphQL<{ analysisJob: JobState | null }>(service.url, `query ($id: ID!) { analysisJob(id: $id) { ${JOB_FIELDS} } }`, { id });
  if (!answer.data.analysisJob) throw new Error(`Job ${id} is gone.`);
  return answer.data.analysisJob;
}

async function waitFor(service: ServiceProcess, id: string, reached: (state: JobState) => boolean): Promise<JobState> {
  const deadline = performance.now() + JOB_WAIT_LIMIT_MS;
  while (performance.now() < deadline) {
    const state = await jobState(service, id);
    if (reached(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`Job ${id} did not reach the awaited state within ${JOB_WAIT_LIMIT_MS} ms.`);
}

/** Sentiment queries one at a time, each started PACE_MS after the previous one started (or at once if it took longer). */
async function pacedSentiments(service: ServiceProcess, sentences: readonly Sentence[], count: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const { text, locale } = sentences[index % sentences.length]!;
    const startedAt = performance.now();
    times.push((await sentimentQuery(service.url, text, locale)).ms);
    const rest = PACE_MS - (performance.now() - startedAt);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  }
  return times;
}

async function timesToFirstToken(service: ServiceProcess, count: number, run: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const trace = await chatOverWebSocket(service.wsUrl, {
      message: `I lost my keys again today (${run}.${index}).`,
      locale: 'en',
      maxTokens: CHAT_TOKENS,
      temperature: 0,
    });
    const first = trace.deltaAt[0];
    if (first !== undefined) times.push(first - trace.subscribedAt);
  }
  return times;
}

function repeated(sentences: readonly Sentence[], count: number): Sentence[] {
  return Array.from({ length: count }, (_, index) => sentences[index % sentences.length]!);
}

if (isMainModule(import.meta.url)) await runStandalone(analysisJobs);

