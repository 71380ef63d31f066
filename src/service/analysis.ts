// Tasks on a text: run them in one engine job, store every result (sentiment in its own table), hand back views.
import type { NewSentiment, NewTaskResult, Repository } from '../db/index.js';
import type { Engine, Locale, TaskResult, TaskRun } from '../engine/index.js';
import { keyOf } from './OperationScope.js';
import { sentimentAsTaskResult, toTaskResultView, type TaskResultView } from './views.js';

const SENTIMENT = 'sentiment';

export interface AnalysisRequest {
  text: string;
  tasks: readonly string[];
  locale?: Locale | null;
  owner: string | null;
  /** The engine's fairness key (the operation's); default: the owner. */
  key?: string;
  /** Aborted: the engine work stops, and results that arrive anyway are not stored. */
  signal?: AbortSignal;
  /** Only tasks of this kind (the `classify` and `extract` queries). */
  kind?: 'classify' | 'extract';
}

export interface AnalysisView {
  /** The language the prompts were in: the one asked for, or the one detected from the text. */
  locale: Locale;
  /** In the order asked for. */
  results: TaskResultView[];
}

/** A run's results split the way they are stored: the sentiment (if it ran) apart from the rest. */
export interface StoredShape {
  sentiment?: NewSentiment;
  taskResults: NewTaskResult[];
}

export async function analyzeAndStore(
  engine: Engine,
  database: Repository,
  request: AnalysisRequest,
): Promise<AnalysisView> {
  const run = await engine.runTasks(request.text, request.tasks, {
    ...(request.locale ? { locale: request.locale } : {}),
    ...(request.kind ? { kind: request.kind } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    ...keyOf(request),
  });
  request.signal?.throwIfAborted();
  const stored = await database.insertQueryAnalysis({ owner: request.owner, text: request.text, ...storedShapeOf(run) });
  // Back in the order asked for: the sentiment sits wherever it was in the list.
  const others = stored.taskResults.map(toTaskResultView);
  const results = run.results.map((result) =>
    result.task === SENTIMENT && stored.sentiment ? sentimentAsTaskResult(stored.sentiment) : others.shift()!,
  );
  return { locale: run.locale, results };
}

export function storedShapeOf(run: TaskRun): StoredShape {
  const shape: StoredShape = { taskResults: [] };
  for (const result of run.results) {
    if (result.task === SENTIMENT && result.kind === 'classify') shape.sentiment = sentimentOf(result, run.locale);
    else shape.taskResults.push(newTaskResultOf(result, run.locale));
  }
  return shape;
}

/** The labels of a run's classify tasks, which may steer a chat reply. */
export function steeringOf(run: TaskRun): { task: string; label: string }[] {
  return run.results.flatMap((result) => (result.kind === 'classify' ? [{ task: result.task, label: result.label }] : []));
}

/** A `sentiment` classification as the sentiment record it is stored as. */
export function sentimentOf(result: Extract<TaskResult, { kind: 'classify' }>, locale: Locale): NewSentiment {
  return {
    locale,
    method: 'logprob',
    label: result.label as NewSentiment['label'],
    confidence: result.confidence,
    scorePositive: result.scores['positive'] ?? 0,
    scoreNegative: result.scores['negative'] ?? 0,
    scoreNeutral: result.scores['neutral'] ?? 0,
    latencyMs: result.latencyMs,
  };
}

function newTaskResultOf(result: TaskResult, locale: Locale): NewTaskResult {
  if (result.kind === 'classify') {
    return {
      task: result.task,
      kind: 'classify',
      locale,
      label: result.label,
      confidence: result.confidence,
      scores: result.scores,
      latencyMs: result.latencyMs,
    };
  }
  return { task: result.task, kind: 'extract', locale, value: result.value, latencyMs: result.latencyMs };
}
