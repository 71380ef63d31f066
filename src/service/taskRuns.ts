// A task run's results as they are stored, and as they steer a chat reply: shared by the analysis and chat services.
import type { NewTaskResult } from '../db/index.js';
import type { Locale, TaskResult, TaskRun } from '../engine/index.js';

/** A run's results the way they are stored. */
export interface StoredShape {
  taskResults: NewTaskResult[];
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
