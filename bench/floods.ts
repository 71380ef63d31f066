// Benchmark 12: a short sentiment query while another client floods the engine — batches, aliased extractions,
// the longest accepted texts, all at once — with API keys (key B vs key A) and without (one client vs another).
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
import { postGraphQL, sentimentQuery } from './lib/clients.js';
import { figure, type Figure, type Table } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { startServiceProcess, type ServiceProcess } from './lib/serviceProcess.js';
import { percentile, summarize } from './lib/stats.js';

const KEY_A = 'flood-key-a-0123456789abcdef';
const KEY_B = 'flood-key-b-0123456789abcdef';
/** What the issue asks: B's p95 within 2× idle with keys, 3× without. */
const TARGET_RATIO = { keys: 2, anonymous: 3 } as const;
/** The longest text the service accepts by default (MAX_INPUT_CHARS). */
const LONGEST_TEXT_CHARS = 4000;
const IDLE_LIMIT_MS = 120_000;

type Mode = keyof typeof TARGET_RATIO;

interface Flood {
  name: string;
  /** The flood's operations, each sent as its own HTTP request. */
  operations: string[];
}

interface FloodMeasurement {
  flood: string;
  busyMs: number[];
  floodErrors: number;
}

interface ModeMeasurement {
  idleMs: number[];
  floods: FloodMeasurement[];
}

export const floods: Benchmark = {
  id: 'floods',
  title: '12. Floods: a short query while another client floods the engine',
  async run(options) {
    const samples = sized(options, 40, 2);
    const sentences = mixedSentences(options.sentences, samples);
    const floodSet = floodsOf(options, sentences);
    const runs: Record<Mode, ModeMeasurement[]> = { keys: [], anonymous: [] };
    // Each run starts a fresh service per mode; the modes alternate, so a slow spell of the machine touches both.
    for (let run = 0; run < options.runs; run += 1) {
      for (const mode of ['keys', 'anonymous'] as const) runs[mode].push(await measureMode(options, mode, floodSet, sentences));
    }
    const figures: Figure[] = (['keys', 'anonymous'] as const).flatMap((mode) =>
      floodSet.map((flood, index) =>
        figure({
          id: `short-query-p95-${mode}-${flood.name.replaceAll(' ', '-')}`,
          label:
            mode === 'keys'
              ? `Key B's sentiment p95 while key A floods: ${flood.name}`
              : `A client's sentiment p95 while another (no API keys) floods: ${flood.name}`,
          unit: 'ms',
          value: summarize(runs[mode].map((measured) => percentile(measured.floods[index]!.busyMs, 95))),
          baseline: { label: 'idle p95', value: summarize(runs[mode].map((measured) => percentile(measured.idleMs, 95))) },
          target: { on: 'ratio', op: '<=', threshold: TARGET_RATIO[mode] },
          note: `Each run's p95 over ${samples} queries; median, min and max are across runs.`,
        }),
      ),
    );
    const tables: Table[] = (['keys', 'anonymous'] as const).map((mode) => ({
      title: mode === 'keys' ? 'With API keys: key B during key A’s floods' : 'Without API keys: one client during another’s floods',
      columns: ['Run', 'Flood', 'Short query latencies (ms)', 'p95 (ms)', 'Flood requests that failed'],
      rows: runs[mode].flatMap((measured, run) => [
        [run + 1, 'none (idle)', measured.idleMs.map(Math.round).join(' '), Math.round(percentile(measured.idleMs, 95)), 0],
        ...measured.floods.map((flood) => [
          run + 1,
          flood.flood,
          flood.busyMs.map(Math.round).join(' '),
          Math.round(percentile(flood.busyMs, 95)),
          flood.floodErrors,
        ]),
      ]),
    }));
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        'short queries per flood and run': samples,
        'longest text (chars)': LONGEST_TEXT_CHARS,
      },
      figures,
      tables,
      notes: [
        'The real service runs as a child process at its defaults (MAX_QUEUE, MAX_QUEUE_PER_KEY, MAX_OPERATION_TEXTS, ' +
          'TASK_SEQUENCES); the short queries are `sentiment` over HTTP, one after another, while the flood runs.',
        'Floods: 8 `sentiments` batches of 32 texts at once; one operation with 15 aliased `extract(task: "keywords")` ' +
          `fields; 4 \`sentiment\` queries of ${LONGEST_TEXT_CHARS} characters at once; and all of them together. ` +
          'A flood is cancelled (its requests closed) once the short queries are done, and the engine is idle again ' +
          'before the next one starts.',
        'Without API keys every operation is its own turn, so "another client" is another operation.',
      ],
    };
  },
};

function floodsOf(options: BenchOptions, sentences: readonly Sentence[]): Flood[] {
  const english = sentences.filter((sentence) => sentence.locale === 'en').map((sentence) => sentence.text);
  const texts = Array.from({ length: 32 }, (_, index) => english[index % english.length]!);
  const batch = `{ sentiments(texts: ${JSON.stringify(texts)}) { label } }`;
  const review = english.join(' ').slice(0, 600);
  const extracts = Array.from({ length: 15 }, (_, index) => `e${index}: extract(task: "keywords", text: ${JSON.stringify(review)}) { id }`);
  const longest = english.join(' ').repeat(Math.ceil(LONGEST_TEXT_CHARS / Math.max(1, english.join(' ').length)));
  const long = `{ sentiment(text: ${JSON.stringify(longest.slice(0, sized(options, LONGEST_TEXT_CHARS, 600)))}) { label } }`;
  const batches = Array.from({ length: sized(options, 8, 2) }, () => batch);
  const aliased = [`{ ${extracts.join(' ')} }`];
  const longTexts = Array.from({ length: sized(options, 4, 2) }, () => long);
  return [
    { name: 'batches', operations: batches },
    { name: 'aliased extracts', operations: aliased },
    { name: 'longest texts', operations: longTexts },
    { name: 'all at once', operations: [...batches.slice(0, 4), ...aliased, ...longTexts.slice(0, 2)] },
  ];
}

async function measureMode(options: BenchOptions, mode: Mode, floodSet: Flood[], sentences: readonly Sentence[]): Promise<ModeMeasurement> {
  const modelPath = await benchModelPath(options);
  const keys: Record<string, string> = mode === 'keys' ? { API_KEYS: `${KEY_A},${KEY_B}` } : {};
  const service = await startServiceProcess(
    serviceEnv(options, modelPath, path.join(options.workDir, `floods-${mode}-${process.pid}.db`), keys),
  );
  const [keyA, keyB] = mode === 'keys' ? [KEY_A, KEY_B] : [undefined, undefined];
  try {
    for (const locale of ['en', 'zh'] as const) await sentimentQuery(service.url, 'Warm-up.', locale, keyB);
    const idleMs: number[] = [];
    for (const { text, locale } of sentences) idleMs.push((await sentimentQuery(service.url, text, locale, keyB)).ms);
    const measured: FloodMeasurement[] = [];
    for (const flood of floodSet) {
      const controller = new AbortController();
      let floodErrors = 0;
      let settled = 0;
      const sent = flood.operations.map((query) =>
        floodRequest(service.url, query, keyA, controller.signal).then((ok) => {
          settled += 1;
          if (!ok) floodErrors += 1;
        }),
      );
      // Let the flood be admitted and running before the short queries start (a tiny model may be done already).
      await waitForEngine(service, keyB, (engine) => engine.runningJobs.length > 0 || settled === sent.length);
      const busyMs: number[] = [];
      for (const { text, locale } of sentences) busyMs.push((await sentimentQuery(service.url, text, locale, keyB)).ms);
      controller.abort();
      await Promise.all(sent);
      await waitForEngine(service, keyB, (engine) => engine.runningJobs.length === 0 && engine.queueDepth === 0);
      options.log(`floods (${mode}, ${flood.name}): idle ${idleMs.map(Math.round).join(' ')} ms; flooded ${busyMs.map(Math.round).join(' ')} ms`);
      measured.push({ flood: flood.name, busyMs, floodErrors });
    }
    return { idleMs, floods: measured };
  } finally {
    await service.stop();
  }
}

/** Sends one flood operation; false when it failed for any reason other than being cancelled by the benchmark. */
async function floodRequest(url: string, query: string, key: string | undefined, signal: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query }),
      signal,
    });
    const body = (await response.json()) as { errors?: unknown };
    return body.errors === undefined;
  } catch (error) {
    return signal.aborted;
  }
}

interface EngineState {
  runningJobs: string[];
  queueDepth: number;
}

async function waitForEngine(service: ServiceProcess, key: string | undefined, done: (engine: EngineState) => boolean): Promise<void> {
  const deadline = performance.now() + IDLE_LIMIT_MS;
  while (performance.now() < deadline) {
    const { data } = await postGraphQL<{ engine: EngineState }>(service.url, '{ engine { runningJobs queueDepth } }', {}, key);
    if (done(data.engine)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`The engine did not reach the expected state within ${IDLE_LIMIT_MS} ms.`);
}

if (isMainModule(import.meta.url)) await runStandalone(floods);
