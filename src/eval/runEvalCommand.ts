// The `eval` command as a function: read the data, open the model, run, print the table, write the JSON.

import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { DEFAULT_MODEL } from '../config.js';
import { Engine, loadTaskDefinitions, type EngineOptions } from '../engine/index.js';
import type { Locale, OwnedEngine, SentimentMethod } from './classifier.js';
import { checkMethods, resolveEvalTarget } from './evalTarget.js';
import { formatReport } from './formatReport.js';
import { parseLabelMap } from './labels.js';
import type { ProgressReporter } from '../terminal/progressBar.js';
import { readDataset } from './readDataset.js';
import { summarizeDataset, type EvalReport } from './report.js';
import { runEvaluation } from './runEvaluation.js';
import type { MethodReport } from './summarizeRun.js';

/** Where downloaded models are kept when the caller names no folder (the service's default, git-ignored). */
export const DEFAULT_MODELS_DIR = 'models';
export const DEFAULT_METHOD: SentimentMethod = 'logprob';

export type EvalMethodChoice = SentimentMethod | 'both';

export interface EvalCommandOptions {
  /** The classify task to evaluate, by name; default sentiment. */
  task?: string;
  /** CSV/TSV with a header, JSONL, or (with `labels`) one text per line. */
  data: string;
  /** One label per line, parallel to `data`. */
  labels?: string;
  /** `RAW=LABEL,…` onto the task's labels, e.g. `0=negative,1=neutral,2=positive`; overrides the default reading. */
  labelMap?: string;
  /** Model path, `hf:` URI or `synthetic:tiny`; defaults to the service's DEFAULT_MODEL. */
  model?: string;
  modelsDir?: string;
  threads?: number;
  /** Further engine settings (context size, batch size, input limit, tasks…), as the service would pass them. */
  engine?: Omit<EngineOptions, 'model' | 'modelsDir' | 'threads'>;
  /** `both` runs logprob then generate over the same texts; generate is sentiment's alone. */
  method?: EvalMethodChoice;
  /** Prompt language for every text; unset picks it per text from the script (zh for Chinese, else en). */
  locale?: Locale;
  /** Evaluate only the first N usable rows. */
  limit?: number;
  /** Where to write the JSON report. */
  out?: string;
  signal?: AbortSignal;
  /** Receives the printed report (stdout in the CLI). */
  write?: (text: string) => void;
  /** Progress display; none when unset (tests, pipes). */
  progress?: ProgressReporter;
  /** Opens the engine; tests pass their own, the CLI loads the real one. */
  openEngine?: (options: EngineOptions) => Promise<OwnedEngine>;
}

function methodsFor(choice: EvalMethodChoice): SentimentMethod[] {
  return choice === 'both' ? ['logprob', 'generate'] : [choice];
}

export async function runEvalCommand(options: EvalCommandOptions): Promise<EvalReport> {
  // Everything that can be refused is checked before the model loads: the task, the method, the labels, the data.
  const target = resolveEvalTarget(options.task, options.engine?.tasks ?? loadTaskDefinitions());
  const methodChoice = options.method ?? DEFAULT_METHOD;
  const methods = methodsFor(methodChoice);
  checkMethods(target, methods, methodChoice);
  const { vocabulary } = target;
  const dataset = await readDataset({
    path: options.data,
    vocabulary,
    ...(options.labels === undefined ? {} : { labelsPath: options.labels }),
    ...(options.labelMap === undefined ? {} : { labelMap: parseLabelMap(options.labelMap, vocabulary) }),
  });
  const examples = options.limit === undefined ? dataset.examples : dataset.examples.slice(0, options.limit);
  const model = options.model ?? DEFAULT_MODEL;

  const open = options.openEngine ?? ((engineOptions: EngineOptions) => Engine.load(engineOptions));
  const engine = await open({
    ...options.engine,
    model,
    modelsDir: options.modelsDir ?? DEFAULT_MODELS_DIR,
    threads: options.threads ?? availableParallelism(),
  });
  const { progress } = options;
  let runs: MethodReport[];
  try {
    runs = await runEvaluation(engine, target, examples, {
      methods,
      ...(options.locale === undefined ? {} : { locale: options.locale }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(progress === undefined ? {} : { onProgress: (done: number, total: number) => progress.update(done, total) }),
    });
  } finally {
    progress?.stop();
    await engine.dispose();
  }

  const report: EvalReport = {
    generatedAt: new Date().toISOString(),
    model,
    task: target.task,
    locale: options.locale ?? 'auto',
    methods,
    dataset: summarizeDataset(dataset, examples, target, options.limit),
    runs,
  };
  options.write?.(formatReport(report));
  if (options.out !== undefined) {
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}
