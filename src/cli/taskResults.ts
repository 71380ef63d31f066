// Task results for the terminal: one task run and narrowed to its kind, a line per result, and what --json prints.
import type { Engine, Locale, TaskResult } from '../engine/index.js';

type TaskKind = TaskResult['kind'];
export type ResultOf<K extends TaskKind> = Extract<TaskResult, { kind: K }>;

/** Runs task `task` of `kind` on `text`; without a locale, the language follows the text. */
export async function runOneTask<K extends TaskKind>(
  engine: Engine,
  text: string,
  task: string,
  kind: K,
  locale?: Locale,
): Promise<{ locale: Locale; result: ResultOf<K> }> {
  const run = await engine.runTasks(text, [task], { kind, ...(locale === undefined ? {} : { locale }) });
  const result = run.results[0];
  // The engine refuses a task of the other kind, so this only guards the types.
  if (result?.kind !== kind) throw new Error(`Task "${task}" returned no ${kind} result.`);
  return { locale: run.locale, result: result as ResultOf<K> };
}

const wholePercent = (probability: number): string => `${Math.round(probability * 100)}%`;

/** `intent: complaint (87%)`, or `keywords: ["battery","screen"]`. */
export function resultLine(result: TaskResult): string {
  return result.kind === 'classify'
    ? `${result.task}: ${result.label} (${wholePercent(result.confidence)})`
    : `${result.task}: ${JSON.stringify(result.value)}`;
}

/** The result line, then every label's probability, likeliest first. */
export function formatClassification(result: ResultOf<'classify'>): string {
  const ranked = Object.entries(result.scores).sort(([, a], [, b]) => b - a);
  const width = Math.max(...ranked.map(([label]) => label.length));
  const rows = ranked.map(
    ([label, probability]) => `  ${label.padEnd(width)}  ${(probability * 100).toFixed(1).padStart(5)}%`,
  );
  return [resultLine(result), ...rows].join('\n');
}

/** A result as JSON: the answer, without the engine's bookkeeping (token counts, prefix state, latency). */
export function resultJson(result: TaskResult): Record<string, unknown> {
  const { task, kind } = result;
  return kind === 'classify'
    ? { task, kind, label: result.label, confidence: result.confidence, scores: result.scores }
    : { task, kind, value: result.value };
}
