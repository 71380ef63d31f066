// Benchmark 8: time from process start to `/readyz` = 200 on the stand-in, against node-llama-cpp loading the same
// model and context in a fresh process.
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
import { runRawProcess } from './lib/rawProcess.js';
import { figure } from './lib/results.js';
import { startServiceProcess, type StartServiceOptions } from './lib/serviceProcess.js';
import { summarize } from './lib/stats.js';
import { ENGINE_DEFAULTS } from '../src/engine/index.js';

interface StartRun {
  variant: string;
  listeningMs: number;
  readyMs: number;
}

export const startup: Benchmark = {
  id: 'startup',
  title: '8. Start-up',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const runs: StartRun[] = [];
    const raw: number[] = [];
    // Interleaved, so that a slow moment of the machine does not land on one variant only.
    for (let run = 0; run < options.runs; run += 1) {
      runs.push(await timeStart(options, modelPath, 'bundle'));
      runs.push(await timeStart(options, modelPath, 'tsx', { via: 'tsx' }));
      raw.push((await runRawProcess({ modelPath, threads: options.threads, prompt: 'Hello.' })).readyMs);
    }
    if (sized(options, true, false)) {
      const useMmap = String(!ENGINE_DEFAULTS.useMmap);
      runs.push(await timeStart(options, modelPath, `bundle, USE_MMAP=${useMmap}`, {}, { USE_MMAP: useMmap }));
    }

    const ready = (variant: string) => summarize(runs.filter((run) => run.variant === variant).map((run) => run.readyMs));
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        model: path.basename(modelPath),
        'context size': ENGINE_DEFAULTS.contextSize,
      },
      figures: [
        figure({
          id: 'ready',
          label: 'Process start to /readyz = 200 (the compiled service, as `npm start` runs it after its build)',
          unit: 'ms',
          value: ready('bundle'),
          baseline: { label: 'node-llama-cpp alone: fresh process to model and context ready', value: summarize(raw) },
        }),
        figure({
          id: 'ready-tsx',
          label: 'Same with the TypeScript sources through tsx (what `all-in-one serve` runs)',
          unit: 'ms',
          value: ready('tsx'),
          baseline: { label: 'compiled', value: ready('bundle') },
        }),
        figure({
          id: 'listening',
          label: 'Process start to listening (first answer on /readyz, 503 while the model loads)',
          unit: 'ms',
          value: summarize(runs.filter((run) => run.variant === 'bundle').map((run) => run.listeningMs)),
          baseline: { label: 'to ready', value: ready('bundle') },
        }),
      ],
      tables: [
        {
          title: 'Every start',
          columns: ['Variant', 'Listening (ms)', 'Ready (ms)'],
          rows: runs.map((run) => [run.variant, Math.round(run.listeningMs), Math.round(run.readyMs)]),
        },
      ],
      notes: [
        'Times run from spawning `node` to the first `GET /readyz` answered 200 (polled every 10 ms); the service ' +
          'listens first and loads the model after, so health checks answer early. The model file is in the page cache ' +
          '(the benchmarks before this one read it), as on any restart after the first.',
        '`npm start` compiles src/ ahead of time with esbuild (`prestart`, about a second, not counted here); the tsx ' +
          'variant compiles on the fly, as the `all-in-one` command line does.',
      ],
    };
  },
};

async function timeStart(
  options: BenchOptions,
  modelPath: string,
  variant: string,
  start: StartServiceOptions = {},
  env: Record<string, string> = {},
): Promise<StartRun> {
  const databasePath = path.join(options.workDir, `startup-${process.pid}-${Date.now()}.db`);
  const service = await startServiceProcess(serviceEnv(options, modelPath, databasePath, env), start);
  await service.stop();
  options.log(
    `startup (${variant}): listening ${Math.round(service.listeningMs)} ms, ready ${Math.round(service.readyMs)} ms`,
  );
  return { variant, listeningMs: service.listeningMs, readyMs: service.readyMs };
}

if (isMainModule(import.meta.url)) await runStandalone(startup);
