// Benchmark 5: peak resident memory of the whole service on the stand-in, for the settings that trade memory
// against latency: memory-mapping, batch size, context size and warm conversations.
import path from 'node:path';
import { benchModelPath, isMainModule, runStandalone, serviceEnv, sized, type Benchmark, type BenchOptions } from './lib/benchmark.js';
import { bundleService } from './lib/bundle.js';
import { postGraphQL, sentimentQuery } from './lib/clients.js';
import { runRawProcess } from './lib/rawProcess.js';
import { figure } from './lib/results.js';
import { startServiceProcess } from './lib/serviceProcess.js';
import { summarize } from './lib/stats.js';
import { ENGINE_DEFAULTS } from '../src/engine/index.js';

const MB = 1_000_000;
const CHAT = `mutation ($input: ChatInput!) { chat(input: $input) { conversation { id } reply { tokenCount } } }`;

interface Setting {
  name: string;
  useMmap: boolean;
  batchSize: number;
  contextSize: number;
  warmConversations: number;
}

const DEFAULTS: Setting = {
  name: 'defaults',
  useMmap: ENGINE_DEFAULTS.useMmap,
  batchSize: ENGINE_DEFAULTS.batchSize,
  contextSize: ENGINE_DEFAULTS.contextSize,
  warmConversations: ENGINE_DEFAULTS.warmConversations,
};

/** The defaults first; then one lever moved at a time, then the combinations that matter. */
const VARIANTS: Omit<Setting, 'name'>[] = [
  { ...DEFAULTS, useMmap: !DEFAULTS.useMmap },
  ...[64, 128, 512].map((batchSize) => ({ ...DEFAULTS, batchSize })),
  ...[64, 512].map((batchSize) => ({ ...DEFAULTS, useMmap: !DEFAULTS.useMmap, batchSize })),
  { ...DEFAULTS, contextSize: 2048 },
  { ...DEFAULTS, contextSize: 8192 },
  { ...DEFAULTS, warmConversations: 4 },
  { ...DEFAULTS, warmConversations: 8 },
];

interface Measured {
  setting: Setting;
  /** tsx compiling src/ at start (what `npm start` does), or an esbuild bundle run by plain Node. */
  runtime: 'tsx' | 'bundle';
  peakRssBytes: number;
  rssBytes: number;
  readyMs: number;
}

export const memory: Benchmark = {
  id: 'memory',
  title: '5. Memory',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const longMessage = options.sentences.en.slice(0, 6).map((sentence) => sentence.text).join(' ');
    const variants = uniqueSettings(sized(options, VARIANTS, []));
    const measured: Measured[] = [];
    for (let run = 0; run < options.runs; run += 1) measured.push(await measureService(options, modelPath, DEFAULTS, longMessage));
    for (const setting of variants) measured.push(await measureService(options, modelPath, setting, longMessage));
    const bundle = await bundleService();
    measured.push(await measureService(options, modelPath, DEFAULTS, longMessage, bundle));
    const raw = [];
    for (let run = 0; run < options.runs; run += 1) {
      raw.push(await runRawProcess({ modelPath, threads: options.threads, prompt: longMessage }));
    }
    const rawQuantizedKv = await runRawProcess({ modelPath, threads: options.threads, prompt: longMessage, kvCacheType: 'Q8_0' });

    const defaults = measured.filter((item) => item.setting === DEFAULTS && item.runtime === 'tsx');
    const bundled = measured.filter((item) => item.runtime === 'bundle');
    const lowest = measured.filter((item) => item.runtime === 'tsx').reduce((best, item) => (item.peakRssBytes < best.peakRssBytes ? item : best));
    return {
      settings: { threads: options.threads, runs: options.runs, model: path.basename(modelPath) },
      figures: [
        figure({
          id: 'peak-rss',
          label: `Peak RSS of the whole service, defaults (${describe(DEFAULTS)})`,
          unit: 'MB',
          value: summarize(defaults.map((item) => item.peakRssBytes / MB)),
          baseline: { label: 'node-llama-cpp alone, same settings', value: summarize(raw.map((item) => item.memory.peakRssBytes / MB)) },
          target: { on: 'value', op: '<=', threshold: 1000 },
        }),
        figure({
          id: 'peak-rss-lowest',
          label: `Lowest peak RSS among the settings tried (${describe(lowest.setting)})`,
          unit: 'MB',
          value: summarize([lowest.peakRssBytes / MB]),
          baseline: { label: 'defaults', value: summarize(defaults.map((item) => item.peakRssBytes / MB)) },
        }),
        figure({
          id: 'peak-rss-bundled',
          label: 'Peak RSS, defaults, the service bundled to plain JavaScript (no tsx at run time)',
          unit: 'MB',
          value: summarize(bundled.map((item) => item.peakRssBytes / MB)),
          baseline: { label: 'through tsx, as `npm start` runs it', value: summarize(defaults.map((item) => item.peakRssBytes / MB)) },
        }),
        figure({
          id: 'peak-rss-kv-q8',
          label: 'Peak RSS of node-llama-cpp alone with a Q8_0 KV cache (same settings otherwise)',
          unit: 'MB',
          value: summarize([rawQuantizedKv.memory.peakRssBytes / MB]),
          baseline: { label: 'F16 KV cache', value: summarize(raw.map((item) => item.memory.peakRssBytes / MB)) },
        }),
      ],
      tables: [
        {
          title: 'Every setting tried (service process tree, after 2 sentiment queries and 2 chat turns)',
          columns: ['Setting', 'Runtime', 'USE_MMAP', 'BATCH_SIZE', 'CONTEXT_SIZE', 'WARM_CONVERSATIONS', 'Peak RSS (MB)', 'RSS after (MB)', 'Ready (ms)'],
          rows: measured.map((item) => [
            item.setting.name,
            item.runtime,
            String(item.setting.useMmap),
            String(item.setting.batchSize),
            String(item.setting.contextSize),
            String(item.setting.warmConversations),
            Math.round(item.peakRssBytes / MB),
            Math.round(item.rssBytes / MB),
            Math.round(item.readyMs),
          ]),
        },
      ],
      notes: [
        'RSS is read from /proc for the service process and any children; the peak is the sum of each process\'s ' +
          'VmHWM. With memory-mapping the model file\'s pages count once touched (shared page cache, reclaimable, but ' +
          'resident); without it the same bytes are anonymous memory: the peak barely moves.',
        'KV cache: each sequence holds CONTEXT_SIZE tokens (2 sentiment sequences plus WARM_CONVERSATIONS chat ' +
          'sequences) at 12 KiB per token in F16 for this shape (24 layers × 2 KV heads × 64 × K and V), 192 MiB with ' +
          'the defaults; the rest is the weights (501 MiB), llama.cpp\'s tokenizer tables for 151,936 tokens, Node.js and ' +
          'the service.',
        'BATCH_SIZE sizes llama.cpp\'s compute buffer (≈ 300 MiB at 512, for 512 tokens all producing logits), but only ' +
          'pages a decode touches become resident: the engine decodes at most 64 tokens at once and reads the last ' +
          'token\'s logits only, so RSS does not move with BATCH_SIZE.',
        memoryVerdict({
          defaultsMb: summarize(defaults.map((item) => item.peakRssBytes / MB)).median,
          bundledMb: summarize(bundled.map((item) => item.peakRssBytes / MB)).median,
          kvSavingMb: summarize(raw.map((item) => item.memory.peakRssBytes / MB)).median - rawQuantizedKv.memory.peakRssBytes / MB,
        }),
      ],
    };
  },
};

/** What the levers add up to, from this run's own figures. */
function memoryVerdict(figures: { defaultsMb: number; bundledMb: number; kvSavingMb: number }): string {
  const tsxMb = figures.defaultsMb - figures.bundledMb;
  const combined = figures.bundledMb - figures.kvSavingMb;
  return (
    `Levers beyond the three asked about: running compiled JavaScript instead of TypeScript through tsx saves ` +
    `${Math.round(tsxMb)} MB (tsx keeps a loader thread with its own V8 heap, and esbuild), and a Q8_0 KV cache ` +
    `saves ${Math.round(figures.kvSavingMb)} MB (measured with node-llama-cpp alone; an experimental option there, ` +
    `it needs flash attention and its effect on answer quality is not measurable with random weights). Together ` +
    `they would bring the defaults to about ${Math.round(combined)} MB (estimated from the two measurements). ` +
    'Neither is adopted here: the first changes how the service is shipped and started, the second the model\'s numerics.'
  );
}

function describe(setting: Omit<Setting, 'name'>): string {
  return `mmap ${setting.useMmap ? 'on' : 'off'}, batch ${setting.batchSize}, context ${setting.contextSize}, ${setting.warmConversations} warm`;
}

function uniqueSettings(variants: Omit<Setting, 'name'>[]): Setting[] {
  const seen = new Set([describe(DEFAULTS)]);
  const settings: Setting[] = [];
  for (const variant of variants) {
    const name = describe(variant);
    if (seen.has(name)) continue;
    seen.add(name);
    settings.push({ ...variant, name });
  }
  return settings;
}

async function measureService(
  options: BenchOptions,
  modelPath: string,
  setting: Setting,
  longMessage: string,
  bundle?: string,
): Promise<Measured> {
  const databasePath = path.join(options.workDir, `memory-${process.pid}-${Date.now()}.db`);
  const service = await startServiceProcess(
    serviceEnv(options, modelPath, databasePath, {
      USE_MMAP: String(setting.useMmap),
      BATCH_SIZE: String(setting.batchSize),
      CONTEXT_SIZE: String(setting.contextSize),
      WARM_CONVERSATIONS: String(setting.warmConversations),
    }),
    bundle ? { bundle } : {},
  );
  try {
    for (const sentence of [options.sentences.en[0]!, options.sentences.zh[0]!]) {
      await sentimentQuery(service.url, sentence.text, sentence.locale);
    }
    const first = await postGraphQL<{ chat: { conversation: { id: string } } }>(service.url, CHAT, {
      input: { message: longMessage, locale: 'EN', maxTokens: 32, temperature: 0.7, seed: 1 },
    });
    await postGraphQL(service.url, CHAT, {
      input: { conversationId: first.data.chat.conversation.id, message: options.sentences.en[1]!.text, locale: 'EN', maxTokens: 32 },
    });
    const { peakRssBytes, rssBytes } = service.memory();
    const runtime = bundle ? 'bundle' : 'tsx';
    options.log(`memory (${setting.name}, ${runtime}): peak ${Math.round(peakRssBytes / MB)} MB, now ${Math.round(rssBytes / MB)} MB`);
    return { setting, runtime, peakRssBytes, rssBytes, readyMs: service.readyMs };
  } finally {
    await service.stop();
  }
}

if (isMainModule(import.meta.url)) await runStandalone(memory);
