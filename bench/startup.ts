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
import { runRawProcess, type RawProcessRun, type RawStartPhases } from './lib/rawProcess.js';
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
  /** Bytes of saved instruction states once ready (the task variants, which get a TASK_STATES_DIR of their own). */
  statesBytes?: number;
}

/**
 * TASKS_FILE sizes compared, in smoke mode too (the tiny model warms 200 tasks up in a few seconds): start-up should
 * grow with the tasks linearly, by a fixed cost per task.
 */
const TASK_COUNTS = { few: 20, many: 200 } as const;
/** 200 tasks on the stand-in take minutes to warm up; a start is a failure only well past that. */
const READY_LIMIT_WITH_TASKS_MS = 900_000;

/** The baseline's steps, in order; any service on node-llama-cpp takes them before it can answer. */
const RAW_PHASES: readonly { key: keyof RawStartPhases; label: string }[] = [
  { key: 'importedAtMs', label: 'Node started, modules evaluated (node-llama-cpp, and the project’s own through tsx)' },
  { key: 'llamaMs', label: '`getLlama`: addon and CPU backend loaded (a prebuilt binary is first tested in a child process)' },
  { key: 'modelMs', label: '`loadModel`: header, vocabulary, weights read (and repacked for AMX where used)' },
  { key: 'contextMs', label: '`createContext`: KV cache allocated and cleared, compute buffers reserved' },
];

export const startup: Benchmark = {
  id: 'startup',
  title: '8. Start-up',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const runs: StartRun[] = [];
    const raw: RawProcessRun[] = [];
    // Interleaved, so that a slow moment of the machine does not land on one variant only.
    for (let run = 0; run < options.runs; run += 1) {
      runs.push(await timeStart(options, modelPath, 'bundle'));
      runs.push(await timeStart(options, modelPath, 'tsx', { via: 'tsx' }));
      raw.push(await runRawProcess({ modelPath, threads: options.threads, prompt: 'Hello.' }));
    }
    if (sized(options, true, false)) {
      const useMmap = String(!ENGINE_DEFAULTS.useMmap);
      runs.push(await timeStart(options, modelPath, `bundle, USE_MMAP=${useMmap}`, {}, { USE_MMAP: useMmap }));
    }
    const counts = TASK_COUNTS;
    const tasksDir = path.join(options.workDir, `startup-tasks-${process.pid}`);
    mkdirSync(tasksDir, { recursive: true });
    const tasksFiles = { few: writeGeneratedTasksFile(tasksDir, counts.few), many: writeGeneratedTasksFile(tasksDir, counts.many) };
    const withTasks = { readyLimitMs: READY_LIMIT_WITH_TASKS_MS };
    for (let run = 0; run < options.runs; run += 1) {
      for (const size of ['few', 'many'] as const) {
        // An empty cache folder of its own: every instruction is evaluated, and the states measured are this start's.
        const states = path.join(tasksDir, `states-${run}-${size}`);
        const env = { TASKS_FILE: tasksFiles[size], TASK_STATES_DIR: states };
        runs.push(await timeStart(options, modelPath, `${counts[size]} tasks`, withTasks, env, states));
      }
      // A restart on the states the first start saved: what every start after the first costs.
      const states = path.join(tasksDir, `states-${run}-many`);
      const env = { TASKS_FILE: tasksFiles.many, TASK_STATES_DIR: states };
      runs.push(await timeStart(options, modelPath, `${counts.many} tasks, restarted`, withTasks, env, states));
    }
    const readyOf = (variant: string) => runs.filter((run) => run.variant === variant).map((run) => run.readyMs);
    const [few, many, builtIns] = [readyOf(`${counts.few} tasks`), readyOf(`${counts.many} tasks`), readyOf('bundle')];
    const restarted = readyOf(`${counts.many} tasks, restarted`);
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
          baseline: {
            label: 'node-llama-cpp alone: fresh process to model and context ready',
            value: summarize(raw.map((run) => run.readyMs)),
          },
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
          id: 'ready-many-tasks-restarted',
          label: `The same ${counts.many} tasks restarted: every instruction's state loaded from TASK_STATES_DIR`,
          unit: 'ms',
          value: summarize(restarted),
          baseline: { label: 'first start (every instruction evaluated)', value: summarize(many) },
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
          title: 'node-llama-cpp alone: where a start goes (median of the runs, in ms)',
          columns: ['Step', 'Median (ms)', 'Min–max (ms)'],
          rows: RAW_PHASES.map(({ key, label }) => {
            const { median, min, max } = summarize(raw.map((run) => run.phases[key]));
            const ms = (value: number) => Math.round(value).toLocaleString('en-US');
            return [label, Math.round(median), `${ms(min)}–${ms(max)}`];
          }),
        },
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
        rawFloorNote(raw),
        'Times run from spawning `node` to the first `GET /readyz` answered 200 (polled every 10 ms); the service ' +
          'listens first and loads the model after, so health checks answer early. The model file is in the page cache ' +
          '(the benchmarks before this one read it), as on any restart after the first.',
        '`npm start` compiles src/ and its packages ahead of time with esbuild (`prestart`: about a second after a ' +
          'change, 0.1 s to find the bundle up to date; not counted here, benchmark 13 times `npm start` itself); the tsx ' +
          'variant compiles on the fly, as the `all-in-one` command line does.',
        `The task variants load a generated TASKS_FILE (bench/lib/generatedTasks.ts: classify and extract tasks ` +
          `alternating, instructions of a realistic length) on top of the built-ins; each task's instructions are ` +
          `evaluated and saved once per language at a first start (an empty TASK_STATES_DIR); a restart loads the ` +
          `saved states instead. With ${counts.many} tasks they take ` +
          `${mb(Math.max(...manyRuns.map((run) => run.statesBytes ?? 0)))} MB on disk. The other variants run with ` +
          'TASK_STATES_DIR=off: each is a first start.',
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
  statesDir?: string,
): Promise<StartRun> {
  const databasePath = path.join(options.workDir, `startup-${process.pid}-${Date.now()}.db`);
  // Without a folder of its own, a start keeps no states: it is a first start, comparable run to run.
  const service = await startServiceProcess(
    serviceEnv(options, modelPath, databasePath, { TASK_STATES_DIR: 'off', ...env }),
    start,
  );
  const { rssBytes } = service.memory();
  const statesBytes = statesDir === undefined ? undefined : folderBytes(statesDir);
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

/** Bytes of the files in `dir`'s sub-folders (one per model, as TASK_STATES_DIR keeps them). */
function folderBytes(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    for (const file of readdirSync(path.join(dir, name))) bytes += statSync(path.join(dir, name, file)).size;
  }
  return bytes;
}

if (isMainModule(import.meta.url)) await runStandalone(startup);

/** What node-llama-cpp alone takes before anything of the service could run, against the ≤ 2 s start-up target. */
function rawFloorNote(raw: readonly RawProcessRun[]): string {
  const median = (key: keyof RawStartPhases) => summarize(raw.map((run) => run.phases[key])).median;
  const ms = (value: number) => `${Math.round(value).toLocaleString('en-US')} ms`;
  const native = median('llamaMs') + median('modelMs') + median('contextMs');
  return (
    `node-llama-cpp alone, in medians: ${ms(median('llamaMs'))} in \`getLlama\`, ${ms(median('modelMs'))} in ` +
    `\`loadModel\` and ${ms(median('contextMs'))} in \`createContext\`, ${ms(native)} in all, after ` +
    `${ms(median('importedAtMs'))} to start Node and evaluate its modules (through tsx, which also compiles the ` +
    `project's modules it imports: more than a bundle takes). Any service on node-llama-cpp spends that before ` +
    `work of its own (a warm-up, the database, the API). llama-server (benchmark 13) has neither the module ` +
    `evaluation nor the test of the binary in a child process, which node-llama-cpp runs on every start with a ` +
    `prebuilt binary on Linux and skips for a native build (\`npm run build:native\`).`
  );
}
