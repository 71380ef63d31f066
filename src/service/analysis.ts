// Tasks on a text: run them in one engine job, store every result, hand back views.
import type { NewTaskResult, Repository } from '../db/index.js';
import type { Engine, Locale, TaskResult, TaskRun } from '../engine/index.js';
import { keyOf } from './OperationScope.js';
import { toTaskResultView, type TaskResultView } from './views.js';

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

/** A run's results the way they are stored. */
export interface StoredShape {
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
  const [stored] = await database.insertQueryAnalyses([
    { owner: request.owner, text: request.text, ...storedShapeOf(run) },
  ]);
  return { locale: run.locale, results: stored!.taskResults.map(toTaskResultView) };
}

export function storedShapeOf(run: TaskRun): StoredShape {
  return { taskResults: run.results.map((result) => newTaskResultOf(result, run.locale)) };
}

/** The labels of a run's classify tasks, which may steer a chat reply. */
export function steeringOf(run: TaskRun): { task: string; label: string }[] {
  return run.results.flatMap((result) => (result.kind === 'classify' ? [{ task: result.task, label: result.label }] : []));
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
