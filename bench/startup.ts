// Benchmark 8: time from process start to `/readyz` = 200 on the stand-in, against node-llama-cpp loading the same
// model and context in a fresh process; and how start-up grows with the tasks of a TASKS_FILE (20 against 200).
import { mkdirSync, readdirSync, statSync } from 'node:fs';
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
import { writeGeneratedTasksFile } from './lib/generatedTasks.js';
import { runRawProcess } from './lib/rawProcess.js';
import { figure } from './lib/results.js';
import { startServiceProcess, type StartServiceOptions } from './lib/serviceProcess.js';
import { differences, summarize } from './lib/stats.js';
import { ENGINE_DEFAULTS } from '../src/engine/index.js';

interface StartRun {
  variant: string;
  listeningMs: number;
  readyMs: number;
  /** Resident memory of the service once ready. */
  rssBytes: number;
  /** Bytes of saved instruction states once ready (measured for the task variants, which get a temporary folder of their own). */
  statesBytes?: number;
}

/**
 * TASKS_FILE sizes compared, in smoke mode too (the tiny model warms 200 tasks up in a few seconds): start-up should
 * grow with the tasks linearly, by a fixed cost per task.
 */
const TASK_COUNTS = { few: 20, many: 200 } as const;
/** 200 tasks on the stand-in take minutes to warm up; a start is a failure only well past that. */
const READY_LIMIT_WITH_TASKS_MS = 900_000;

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
    const counts = TASK_COUNTS;
    const tasksDir = path.join(options.workDir, `startup-tasks-${process.pid}`);
    mkdirSync(tasksDir, { recursive: true });
    const tasksFiles = { few: writeGeneratedTasksFile(tasksDir, counts.few), many: writeGeneratedTasksFile(tasksDir, counts.many) };
    for (let run = 0; run < options.runs; run += 1) {
      for (const size of ['few', 'many'] as const) {
        // A temporary folder of its own, so the saved instruction states measured are this start's.
        const tmp = path.join(tasksDir, `tmp-${run}-${size}`);
        mkdirSync(tmp);
        const env = { TASKS_FILE: tasksFiles[size], TMPDIR: tmp };
        runs.push(await timeStart(options, modelPath, `${counts[size]} tasks`, { readyLimitMs: READY_LIMIT_WITH_TASKS_MS }, env));
      }
    }
    const readyOf = (variant: string) => runs.filter((run) => run.variant === variant).map((run) => run.readyMs);
    const [few, many, builtIns] = [readyOf(`${counts.few} tasks`), readyOf(`${counts.many} tasks`), readyOf('bundle')];
    const manyRuns = runs.filter((run) => run.variant === `${counts.many} tasks`);
    const mb = (bytes: number) => Math.round(bytes / 1e6);

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
          id: 'ready-many-tasks',
          label: `Process start to /readyz = 200 with ${counts.many} tasks in TASKS_FILE (every instruction warmed up)`,
          unit: 'ms',
          value: summarize(many),
          baseline: { label: `with ${counts.few} tasks`, value: summarize(few) },
        }),
        figure({
          id: 'ms-per-task',
          label: `Start-up cost of one more task, from ${counts.few} to ${counts.many} tasks (paired by run)`,
          unit: 'ms/task',
          value: summarize(differences(many, few).map((ms) => ms / (counts.many - counts.few))),
          baseline: {
            label: `from the built-ins alone to ${counts.few} tasks: equal when start-up grows linearly`,
            value: summarize(differences(few, builtIns).map((ms) => ms / counts.few)),
          },
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
          columns: ['Variant', 'Listening (ms)', 'Ready (ms)', 'RSS when ready (MB)', 'Saved instruction states (MB)'],
          rows: runs.map((run) => [
            run.variant,
            Math.round(run.listeningMs),
            Math.round(run.readyMs),
            mb(run.rssBytes),
            run.statesBytes === undefined ? '' : mb(run.statesBytes),
          ]),
        },
      ],
      notes: [
        'Times run from spawning `node` to the first `GET /readyz` answered 200 (polled every 10 ms); the service ' +
          'listens first and loads the model after, so health checks answer early. The model file is in the page cache ' +
          '(the benchmarks before this one read it), as on any restart after the first.',
        '`npm start` compiles src/ ahead of time with esbuild (`prestart`, about a second, not counted here); the tsx ' +
          'variant compiles on the fly, as the `all-in-one` command line does.',
        `The task variants load a generated TASKS_FILE (bench/lib/generatedTasks.ts: classify and extract tasks ` +
          `alternating, instructions of a realistic length) on top of the built-ins; each task's instructions are ` +
          `evaluated and saved once per language at start-up. With ${counts.many} tasks the saved states take ` +
          `${mb(Math.max(...manyRuns.map((run) => run.statesBytes ?? 0)))} MB of the temporary folder.`,
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
  const { rssBytes } = service.memory();
  const tmp = env['TMPDIR'];
  const statesBytes = tmp === undefined ? undefined : folderBytes(tmp, (name) => name.startsWith('all-in-one-prefixes-'));
  await service.stop();
  options.log(
    `startup (${variant}): listening ${Math.round(service.listeningMs)} ms, ready ${Math.round(service.readyMs)} ms`,
  );
  return {
    variant,
    listeningMs: service.listeningMs,
    readyMs: service.readyMs,
    rssBytes,
    ...(statesBytes === undefined ? {} : { statesBytes }),
  };
}

/** Bytes of the files in `dir`'s sub-folders that `include` names (one level deep, as the states are kept). */
function folderBytes(dir: string, include: (name: string) => boolean): number {
  let bytes = 0;
  for (const name of readdirSync(dir).filter(include)) {
    for (const file of readdirSync(path.join(dir, name))) bytes += statSync(path.join(dir, name, file)).size;
  }
  return bytes;
}

if (isMainModule(import.meta.url)) await runStandalone(startup);
