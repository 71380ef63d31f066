// Benchmark 9: the native build of the bundled llama.cpp (`npm run build:native`) against node-llama-cpp's prebuilt
// binary, in the same run: raw decode and prompt rates, and the decode rate a client of the service sees.
import { spawn } from 'node:child_process';
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
import { PROJECT_ROOT } from './lib/paths.js';
import { figure, type Figure } from './lib/results.js';
import { mixedSentences } from './lib/sentences.js';
import { startServiceProcess } from './lib/serviceProcess.js';
import { summarize } from './lib/stats.js';
import type { LlamaRuntime } from '../src/engine/index.js';

const NATIVE_TARGET = 1.2;

interface RuntimeRates {
  build: string;
  decode: number[];
  prompt: number[];
  api: number[];
}

export const runtime: Benchmark = {
  id: 'runtime',
  title: '9. Native runtime',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const prebuilt: RuntimeRates = { build: 'prebuilt', decode: [], prompt: [], api: [] };
    const native: RuntimeRates = { build: 'unknown', decode: [], prompt: [], api: [] };
    // Interleaved, run by run, so that a slow moment of the machine does not land on one build only.
    const messages = mixedSentences(options.sentences, options.runs);
    for (const [index, { text }] of messages.entries()) {
      for (const [rates, runtime] of [
        [prebuilt, 'prebuilt'],
        [native, 'auto'],
      ] as const) {
        const run = await rawDecodeRun({
          modelPath,
          threads: options.threads,
          runtime,
          tokens: sized(options, 96, 4),
          prompt: `${text} ${text} ${text}`,
          seed: index,
        });
        rates.build = run.build;
        rates.prompt.push(run.prompt);
        rates.decode.push(run.decode);
      }
    }
    await measureApi(options, modelPath, 'prebuilt', prebuilt);
    if (native.build === 'native') await measureApi(options, modelPath, 'auto', native);
    const hasNative = native.build === 'native';
    const figures: Figure[] = hasNative
      ? [
          figure({
            id: 'decode-native',
            label: 'Single-stream decode rate, native build (node-llama-cpp alone)',
            unit: 'tok/s',
            value: summarize(native.decode),
            baseline: { label: 'prebuilt binary', value: summarize(prebuilt.decode) },
            target: { on: 'ratio' as const, op: '>=' as const, threshold: NATIVE_TARGET },
          }),
          figure({
            id: 'prompt-native',
            label: 'Prompt evaluation rate, native build (node-llama-cpp alone)',
            unit: 'tok/s',
            value: summarize(native.prompt),
            baseline: { label: 'prebuilt binary', value: summarize(prebuilt.prompt) },
          }),
          figure({
            id: 'api-native',
            label: 'Decode rate a graphql-ws client sees, service on the native build',
            unit: 'tok/s',
            value: summarize(native.api),
            baseline: { label: 'service on the prebuilt binary', value: summarize(prebuilt.api) },
          }),
        ]
      : [
          figure({
            id: 'decode-prebuilt',
            label: 'Single-stream decode rate, prebuilt binary (no native build here: run `npm run build:native`)',
            unit: 'tok/s',
            value: summarize(prebuilt.decode),
          }),
        ];
    return {
      settings: { threads: options.threads, runs: options.runs, 'native build present': hasNative },
      figures,
      tables: [
        {
          title: 'Rates by build (medians)',
          columns: ['Build', 'Decode (tok/s)', 'Prompt (tok/s)', 'Service, graphql-ws client (tok/s)'],
          rows: [prebuilt, ...(hasNative ? [native] : [])].map((rates) => [
            rates.build,
            summarize(rates.decode).median,
            summarize(rates.prompt).median,
            summarize(rates.api).median,
          ]),
        },
      ],
      notes: [
        "The prebuilt binary is node-llama-cpp's portable CPU build (no OpenMP, CPU features chosen at run time). " +
          '`npm run build:native` compiles the llama.cpp source that node-llama-cpp bundles, for this CPU and with ' +
          'OpenMP; the service loads it whenever it is present (LLAMA_RUNTIME=auto) and says so in its banner and in ' +
          '`engine { runtime }`.',
      ],
    };
  },
};

async function measureApi(
  options: BenchOptions,
  modelPath: string,
  runtime: LlamaRuntime,
  rates: RuntimeRates,
): Promise<void> {
  const messages = mixedSentences(options.sentences, options.runs);
  const databasePath = path.join(options.workDir, `runtime-${runtime}-${process.pid}.db`);
  const service = await startServiceProcess(serviceEnv(options, modelPath, databasePath, { LLAMA_RUNTIME: runtime }));
  try {
    for (const [index, { text, locale }] of messages.entries()) {
      const trace = await chatOverWebSocket(service.wsUrl, {
        message: text,
        locale,
        maxTokens: sized(options, 96, 4),
        seed: index,
      });
      rates.api.push(clientTokensPerSecond(trace));
    }
  } finally {
    await service.stop();
  }
  options.log(
    `runtime (${rates.build}): decode ${summarize(rates.decode).median.toFixed(1)} tok/s, prompt ` +
      `${summarize(rates.prompt).median.toFixed(0)} tok/s, api ${summarize(rates.api).median.toFixed(1)} tok/s`,
  );
}

interface RawDecodeRun {
  build: string;
  prompt: number;
  decode: number;
}

/** One measurement in a child process of its own (see rawDecodeProcess.ts). */
function rawDecodeRun(settings: {
  modelPath: string;
  threads: number;
  runtime: LlamaRuntime;
  tokens: number;
  prompt: string;
  seed: number;
}) {
  return new Promise<RawDecodeRun>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/rawDecodeProcess.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/tmp',
        MODEL: settings.modelPath,
        THREADS: String(settings.threads),
        RUNTIME: settings.runtime,
        TOKENS: String(settings.tokens),
        PROMPT: settings.prompt,
        SEED: String(settings.seed),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as RawDecodeRun);
      else reject(new Error(`rawDecodeProcess exited with code ${code}:\n${stderr}`));
    });
  });
}

if (isMainModule(import.meta.url)) await runStandalone(runtime);
