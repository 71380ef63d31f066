// The `eval` command's options as a commander Command, so `npm run eval` and a CLI subcommand share them.

import { Command, InvalidArgumentError, Option } from 'commander';
import type { EngineConfig } from '../config.js';
import type { Locale } from './classifier.js';
import { createDownloadProgressBar, createProgressBar } from '../terminal/progressBar.js';
import { DEFAULT_METHOD, runEvalCommand, type EvalMethodChoice } from './runEvalCommand.js';

const EVAL_PROGRESS_FORMAT =
  'eval [{bar}] {value}/{total} texts | {percentage}% | ETA {eta_formatted} | {duration_formatted}';
/** Recent texts the ETA averages over; short enough to follow a method switch, long enough to be steady. */
const ETA_WINDOW_TEXTS = 50;

/** The service settings the evaluation reuses, so it measures the engine as the API runs it. */
export type EvalConfig = Pick<
  EngineConfig,
  'model' | 'modelsDir' | 'threads' | 'gpu' | 'contextSize' | 'batchSize' | 'useMmap' | 'maxInputChars' | 'tasks'
>;

export interface CreateEvalCommandOptions {
  /** Defaults for --model, --models-dir and --threads, and the engine settings (normally `loadConfig().engine`). */
  config: EvalConfig;
  /** Aborts a run in progress (the entry point wires it to SIGINT). */
  signal?: AbortSignal;
}

interface ParsedOptions {
  task?: string;
  data: string;
  labels?: string;
  labelMap?: string;
  model: string;
  modelsDir: string;
  method: EvalMethodChoice;
  locale?: Locale;
  limit?: number;
  out?: string;
  threads: number;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return parsed;
}

export function createEvalCommand({ config, signal }: CreateEvalCommandOptions): Command {
  return new Command('eval')
    .description(
      'Measure the accuracy of sentiment (or another classify task) on a labelled data set: metrics, calibration and cost',
    )
    .option('--task <name>', 'the classify task to evaluate, e.g. intent or one from TASKS_FILE (default: sentiment)')
    .requiredOption('--data <file>', 'CSV/TSV with a header, JSONL, or one text per line (with --labels)')
    .option('--labels <file>', 'one label per line, parallel to --data')
    .option(
      '--label-map <map>',
      "how raw labels read, e.g. 0=negative,1=neutral,2=positive; values are the task's labels. Sentiment reads numbers " +
        'by default (0/1 → negative/positive; with a 2 present, 0/1/2 → negative/neutral/positive; with a -1 present, ' +
        '-1/0/1 → negative/neutral/positive); other tasks read their label names and spellings, and numbers need a map',
    )
    .option('--model <model>', 'model path, hf: URI, or synthetic:tiny (offline, random weights)', config.model)
    .option('--models-dir <dir>', 'where models are downloaded or generated', config.modelsDir)
    .addOption(
      new Option('--method <method>', 'sentiment method (other tasks: logprob only); both compares them on the same texts')
        .choices(['logprob', 'generate', 'both'])
        .default(DEFAULT_METHOD),
    )
    .addOption(
      new Option('--locale <locale>', 'prompt language for every text (default: zh for Chinese script, else en)').choices([
        'zh',
        'en',
      ]),
    )
    .option('--limit <n>', 'evaluate only the first N usable rows', positiveInteger)
    .option('--out <file>', 'write the full report as JSON')
    .option('--threads <n>', 'CPU threads for the model', positiveInteger, config.threads)
    .action(async (parsed: ParsedOptions) => {
      const interactive = process.stderr.isTTY === true;
      await runEvalCommand({
        ...parsed,
        engine: {
          gpu: config.gpu,
          contextSize: config.contextSize,
          batchSize: config.batchSize,
          useMmap: config.useMmap,
          maxInputChars: config.maxInputChars,
          tasks: config.tasks,
          ...(interactive ? { downloadProgress: createDownloadProgressBar() } : {}),
          onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
        },
        ...(signal === undefined ? {} : { signal }),
        write: (text) => process.stdout.write(`${text}\n`),
        // A bar on a pipe or in a log file is only noise.
        ...(interactive
          ? { progress: createProgressBar({ format: EVAL_PROGRESS_FORMAT, etaBuffer: ETA_WINDOW_TEXTS }) }
          : {}),
      });
    });
}
