// Tasks on texts as one job: checked before anything runs, then every task on every text in order, on task sequences.
import type { Token } from 'node-llama-cpp';
import { assertFits, jobOptionsOf } from './admission.js';
import { detectLocale } from './detectLocale.js';
import { BackgroundDisabledError, BadInputError } from './errors.js';
import type { EngineRuntime } from './EngineRuntime.js';
import type { Locale } from './prompts.js';
import type { JobKind, SubmitOptions } from './Scheduler.js';
import { submitReported } from './submitReported.js';
import { PROMPT_CHUNK_TOKENS } from './syncSequence.js';
import { SENTIMENT_TASK_NAME } from './tasks/builtinTasks.js';
import type { TaskDefinition } from './tasks/definitions.js';
import { tokenizeText } from './tokenizeParts.js';
import type { TaskResult, TaskRun, TaskRunOptions } from './types.js';
import { validateTexts } from './validateInput.js';

/**
 * A job expected to take more decodes than this (a prompt chunk per decode, each text's prompt once per task) keeps
 * its task sequence busy for long: a long job (see Scheduler), like an extraction, so it never holds the last task
 * sequence a short query could use. A batch of more than four short texts is one, so is a text over 128 tokens; a
 * short text with two tasks is not. A long batch still yields its slot between texts, but only to a job already
 * waiting: were batches short, a flood of them would hold every sequence and each newcomer would first wait for
 * another key's decode and its text to end.
 */
const LONG_JOB_DECODES = 4;

/** A checked batch, ready to submit: each text tokenized once, for every task and for the length checks alike. */
export interface TaskBatch {
  definitions: TaskDefinition[];
  texts: { tokens: Token[]; locale: Locale }[];
  /** Runs on the background sequences. */
  background: boolean;
  submit: SubmitOptions;
}

/**
 * Throws the `BadInputError` the batch would meet (no texts or too many, an empty or oversized text, no tasks, an
 * unknown task or one of the other kind, a text too long for a task) before anything is stored or queued; and
 * `BackgroundDisabledError` for background work on an engine without background sequences.
 */
export function checkTaskBatch(
  runtime: EngineRuntime,
  texts: readonly string[],
  tasks: readonly string[],
  options: TaskRunOptions,
): TaskBatch {
  const { registry, model, contextSize } = runtime;
  if (options.background === true && runtime.options.backgroundSequences === 0) {
    throw new BackgroundDisabledError({ message: 'Background work is off on this engine (JOB_SEQUENCES is 0).' });
  }
  validateTexts(texts, runtime.options.maxInputChars, runtime.options.maxBatchTexts);
  if (tasks.length === 0) throw new BadInputError({ message: 'No tasks were given.' });
  const definitions = [...new Set(tasks)].map((name) => registry.get(name, options.kind));
  const kind = jobKindOf(definitions, texts.length);
  const checked = texts.map((text, index) => {
    const tokens = tokenizeText(model, text);
    const locale = options.locale ?? detectLocale(text);
    const which = texts.length === 1 ? 'text' : `text #${index + 1}`;
    for (const task of definitions) {
      // Sentiment's own queries keep the messages they always had, which name no task.
      const what = kind === 'sentiment' || kind === 'sentiment-batch' ? which : `${which} (for task "${task.name}")`;
      assertFits(contextSize, registry.tokensNeeded(task.name, locale, tokens.length), what);
    }
    return { tokens, locale };
  });
  // An extraction generates its answer and holds its task sequence meanwhile: a long job (see Scheduler).
  const decodesPerTask = checked.reduce((sum, { tokens }) => sum + Math.max(1, Math.ceil(tokens.length / PROMPT_CHUNK_TOKENS)), 0);
  const decodes = decodesPerTask * definitions.length;
  const long = definitions.some((task) => task.kind === 'extract') || decodes > LONG_JOB_DECODES;
  const submit: SubmitOptions =
    options.background === true
      ? // Its own lane and sequences, no time limit (its caller's signal stops it), after every interactive job.
        { kind: 'job', lane: 'background', background: true, timeoutMs: null, ...jobOptionsOf(options) }
      : { kind, lane: 'task', long, ...jobOptionsOf(options) };
  return { definitions, texts: checked, background: options.background === true, submit };
}

/**
 * Runs a checked batch in one job: each task's instructions are restored from their saved state (never evaluated
 * again), then only the text and the answer are evaluated. Between parts the lane slot goes to any other key waiting.
 */
export function runTaskBatch(runtime: EngineRuntime, batch: TaskBatch): Promise<TaskRun[]> {
  const { scheduler, hooks, registry } = runtime;
  const pool = batch.background ? runtime.backgroundPool : runtime.taskPool;
  return submitReported(scheduler, hooks, batch.submit, async (job) => {
    const runs: TaskRun[] = [];
    for (const { tokens, locale } of batch.texts) {
      const results: TaskResult[] = [];
      for (const task of batch.definitions) {
        if (runs.length > 0 || results.length > 0) await job.yield();
        const lease = await pool.acquire(`${task.name}:${locale}`);
        try {
          results.push(await registry.run(job, lease.sequence, task.name, locale, tokens));
        } finally {
          lease.release();
        }
      }
      runs.push({ locale, results });
    }
    return runs;
  });
}

/** Sentiment alone keeps the job kinds it always had (one text, a batch), so its metrics read on. */
function jobKindOf(definitions: readonly TaskDefinition[], texts: number): JobKind {
  const only = definitions.length === 1 ? definitions[0]! : undefined;
  if (only?.name === SENTIMENT_TASK_NAME) return texts === 1 ? 'sentiment' : 'sentiment-batch';
  return only ? only.kind : 'analyze';
}
