// Benchmark 5: peak resident memory of the whole service on the stand-in, at its defaults and with the settings that
// trade memory against concurrency and context: KV cache type, context size, parallel replies, task sequences.
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
import { runRawProcess } from './lib/rawProcess.js';
import { figure } from './lib/results.js';
import { startServiceProcess, type StartServiceOptions } from './lib/serviceProcess.js';
import { summarize } from './lib/stats.js';
import { ENGINE_DEFAULTS, type KvCacheType } from '../src/engine/index.js';

const MB = 1_000_000;
const TARGET_MB = 1000;
const CHAT = `mutation ($input: ChatInput!) { chat(input: $input) { conversation { id } reply { tokenCount } } }`;

interface Setting {
  name: string;
  kvCacheType: KvCacheType;
  contextSize: number;
  maxParallelReplies: number;
  taskSequences: number;
}

const DEFAULTS: Setting = {
  name: 'defaults',
  kvCacheType: ENGINE_DEFAULTS.kvCacheType,
  contextSize: ENGINE_DEFAULTS.contextSize,
  maxParallelReplies: ENGINE_DEFAULTS.maxParallelReplies,
  taskSequences: ENGINE_DEFAULTS.taskSequences,
};

/** One lever moved at a time from the defaults, then the pairs that matter. */
const VARIANTS: Omit<Setting, 'name'>[] = [
  { ...DEFAULTS, kvCacheType: 'f16' },
  { ...DEFAULTS, contextSize: 4096 },
  { ...DEFAULTS, contextSize: 1024 },
  { ...DEFAULTS, maxParallelReplies: 8 },
  { ...DEFAULTS, maxParallelReplies: 2 },
  { ...DEFAULTS, maxParallelReplies: 8, contextSize: 1024 },
  { ...DEFAULTS, kvCacheType: 'f16', contextSize: 4096 },
];

interface Measured {
  setting: Setting;
  via: NonNullable<StartServiceOptions['via']>;
  peakRssBytes: number;
  rssBytes: number;
  processes: number;
  readyMs: number;
}

export const memory: Benchmark = {
  id: 'memory',
  title: '5. Memory',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const longMessage = options.sentences.en
      .slice(0, 6)
      .map((sentence) => sentence.text)
      .join(' ');
    const measured: Measured[] = [];
    for (let run = 0; run < options.runs; run += 1)
      measured.push(await measureService(options, modelPath, DEFAULTS, longMessage));
    for (const setting of uniqueSettings(sized(options, VARIANTS, []))) {
      measured.push(await measureService(options, modelPath, setting, longMessage));
    }
    measured.push(await measureService(options, modelPath, DEFAULTS, longMessage, 'tsx'));
    if (!options.smoke) measured.push(await measureService(options, modelPath, DEFAULTS, longMessage, 'npm'));
    const raw = [];
    for (let run = 0; run < options.runs; run += 1) {
      raw.push(await runRawProcess({ modelPath, threads: options.threads, prompt: longMessage }));
    }

    const defaults = measured.filter((item) => item.setting === DEFAULTS && item.via === 'bundle');
    const byVia = (via: Measured['via']) => measured.filter((item) => item.setting === DEFAULTS && item.via === via);
    const peaks = (items: Measured[]) => summarize(items.map((item) => item.peakRssBytes / MB));
    const f16 = measured.find(
      (item) => item.setting.kvCacheType === 'f16' && item.setting.contextSize === DEFAULTS.contextSize,
    );
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        model: path.basename(modelPath),
        runtime: raw[0]?.build ?? 'unknown',
      },
      figures: [
        figure({
          id: 'peak-rss',
          label: `Peak RSS of the whole service, defaults (${describe(DEFAULTS)}), compiled as \`npm start\` runs it`,
          unit: 'MB',
          value: peaks(defaults),
          baseline: {
            label: 'node-llama-cpp alone, same context',
            value: summarize(raw.map((item) => item.memory.peakRssBytes / MB)),
          },
          target: { on: 'value' as const, op: '<=' as const, threshold: TARGET_MB },
        }),
        ...(byVia('npm').length > 0
          ? [
              figure({
                id: 'peak-rss-npm-start',
                label: '`npm start` as a whole: npm and its shell, which stay while the service runs, plus the service',
                unit: 'MB',
                value: peaks(byVia('npm')),
                baseline: { label: 'the service process alone', value: peaks(defaults) },
              }),
            ]
          : []),
        figure({
          id: 'peak-rss-tsx',
          label: 'Same defaults with the TypeScript sources through tsx (what `npm start` ran before, and the CLI runs)',
          unit: 'MB',
          value: peaks(byVia('tsx')),
          baseline: { label: 'compiled', value: peaks(defaults) },
        }),
        ...(f16
          ? [
              figure({
                id: 'peak-rss-kv-f16',
                label: 'Same defaults with an F16 KV cache (KV_CACHE_TYPE=f16)',
                unit: 'MB',
                value: peaks([f16]),
                baseline: { label: 'Q8_0 KV cache (the default)', value: peaks(defaults) },
              }),
            ]
          : []),
      ],
      tables: [
        {
          title: 'Every setting tried (process tree, after 2 sentiment queries and 2 chat turns)',
          columns: [
            'Setting',
            'Run as',
            'KV_CACHE_TYPE',
            'CONTEXT_SIZE',
            'MAX_PARALLEL_REPLIES',
            'TASK_SEQUENCES',
            'KV cache (MiB)',
            'Peak RSS (MB)',
            'RSS after (MB)',
            'Processes',
            'Ready (ms)',
          ],
          rows: measured.map((item) => [
            item.setting.name,
            item.via,
            item.setting.kvCacheType,
            item.setting.contextSize,
            item.setting.maxParallelReplies,
            item.setting.taskSequences,
            Math.round(kvCacheMiB(item.setting)),
            Math.round(item.peakRssBytes / MB),
            Math.round(item.rssBytes / MB),
            item.processes,
            Math.round(item.readyMs),
          ]),
        },
      ],
      notes: [
        "RSS is read from /proc for the process and its children; the peak is the sum of each process's VmHWM. The " +
          "weights are read into the service's own memory (USE_MMAP=false, the default), and where llama.cpp " +
          'repacks them for the CPU (AMX) that copy is what stays resident.',
        'KV cache: every sequence (MAX_PARALLEL_REPLIES chat sequences, WARM_CONVERSATIONS set to the same, plus ' +
          'TASK_SEQUENCES) holds CONTEXT_SIZE tokens, at 12 KiB per token in F16 for this shape (24 layers × 2 KV heads ' +
          '× 64 × K and V) and 6.4 KiB in Q8_0; llama.cpp clears it when it allocates it, so all of it is resident.',
        "The rest is the weights (501 MiB), llama.cpp's tokenizer tables for 151,936 tokens and its compute buffers, " +
          "Node.js and the service's modules. `npm start` compiles the service first (prestart) and then runs plain " +
          'JavaScript: tsx would add its loader thread and esbuild to the running service.',
      ],
    };
  },
};

/** KV cache size of a setting: every sequence holds the whole context. */
function kvCacheMiB(setting: Omit<Setting, 'name'>): number {
  const sequences = setting.maxParallelReplies + setting.taskSequences;
  const bytesPerToken = setting.kvCacheType === 'f16' ? 12 * 1024 : (12 * 1024 * 34) / 64;
  return (sequences * setting.contextSize * bytesPerToken) / 2 ** 20;
}

function describe(setting: Omit<Setting, 'name'>): string {
  return `KV ${setting.kvCacheType}, context ${setting.contextSize}, ${setting.maxParallelReplies} parallel replies, ${setting.taskSequences} task sequences`;
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
  via: Measured['via'] = 'bundle',
): Promise<Measured> {
  const databasePath = path.join(options.workDir, `memory-${process.pid}-${Date.now()}.db`);
  const service = await startServiceProcess(
    serviceEnv(options, modelPath, databasePath, {
      KV_CACHE_TYPE: setting.kvCacheType,
      CONTEXT_SIZE: String(setting.contextSize),
      MAX_PARALLEL_REPLIES: String(setting.maxParallelReplies),
      WARM_CONVERSATIONS: String(setting.maxParallelReplies),
      TASK_SEQUENCES: String(setting.taskSequences),
    }),
    { via },
  );
  try {
    for (const sentence of [options.sentences.en[0]!, options.sentences.zh[0]!]) {
      await sentimentQuery(service.url, sentence.text, sentence.locale);
    }
    const first = await postGraphQL<{ chat: { conversation: { id: string } } }>(service.url, CHAT, {
      input: { message: longMessage, locale: 'EN', maxTokens: 32, temperature: 0.7, seed: 1 },
    });
    await postGraphQL(service.url, CHAT, {
      input: {
        conversationId: first.data.chat.conversation.id,
        message: options.sentences.en[1]!.text,
        locale: 'EN',
        maxTokens: 32,
      },
    });
    const { peakRssBytes, rssBytes, processes } = service.memory();
    options.log(
      `memory (${setting.name}, ${via}): peak ${Math.round(peakRssBytes / MB)} MB, now ${Math.round(rssBytes / MB)} MB`,
    );
    return { setting, via, peakRssBytes, rssBytes, processes, readyMs: service.readyMs };
  } finally {
    await service.stop();
  }
}

if (isMainModule(import.meta.url)) await runStandalone(memory);
