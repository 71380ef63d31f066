// The shape of benchmark results: figures with their baseline, ratio and target, plus tables and notes.
import type { MachineInfo } from './machine.js';
import type { Summary } from './stats.js';

export interface Target {
  /** What the target applies to: the figure itself or its ratio to the baseline. */
  on: 'value' | 'ratio';
  op: '<=' | '>=';
  threshold: number;
}

export interface Figure {
  /** Stable key, unique within its benchmark. */
  id: string;
  label: string;
  unit: string;
  value: Summary;
  baseline?: { label: string; value: Summary };
  /**
   * Ratio of medians. `value/baseline` for rates and sizes; `baseline/value` where the figure is a speed-up
   * (how many times faster the value is than its baseline).
   */
  ratio?: { value: number; of: 'value/baseline' | 'baseline/value' };
  target?: Target;
  /** Whether the target was met; absent when the figure has no target. */
  pass?: boolean;
  note?: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface BenchmarkResult {
  id: string;
  title: string;
  /** The settings this benchmark ran with (threads, context size, iterations…). */
  settings: Record<string, string | number | boolean>;
  figures: Figure[];
  tables: Table[];
  notes: string[];
  durationMs: number;
}

export interface SuiteResult {
  startedAt: string;
  smoke: boolean;
  machine: MachineInfo;
  threads: number;
  runs: number;
  inputs: string;
  benchmarks: BenchmarkResult[];
  totalMs: number;
}

export interface FigureInput {
  id: string;
  label: string;
  unit: string;
  value: Summary;
  baseline?: { label: string; value: Summary };
  ratioOf?: 'value/baseline' | 'baseline/value';
  target?: Target;
  note?: string;
}

/** Builds a figure: the ratio of medians when there is a baseline, and pass/fail when there is a target. */
export function figure(input: FigureInput): Figure {
  const { ratioOf = 'value/baseline', ...rest } = input;
  const result: Figure = { ...rest };
  if (input.baseline) {
    const [numerator, denominator] =
      ratioOf === 'value/baseline'
        ? [input.value.median, input.baseline.value.median]
        : [input.baseline.value.median, input.value.median];
    result.ratio = { value: denominator === 0 ? Number.NaN : numerator / denominator, of: ratioOf };
  }
  if (input.target) {
    const measured = input.target.on === 'value' ? input.value.median : result.ratio?.value;
    if (measured === undefined) throw new Error(`Figure ${input.id} has a ratio target but no baseline.`);
    result.pass = input.target.op === '<=' ? measured <= input.target.threshold : measured >= input.target.threshold;
  }
  return result;
}

/** Problems that make a result unusable (missing figures, non-finite numbers); empty when it is well-formed. */
export function checkResult(result: BenchmarkResult): string[] {
  const problems: string[] = [];
  if (!result.id || !result.title) problems.push('missing id or title');
  if (result.figures.length === 0) problems.push('no figures');
  const ids = new Set<string>();
  for (const item of result.figures) {
    if (ids.has(item.id)) problems.push(`duplicate figure id ${item.id}`);
    ids.add(item.id);
    for (const [name, summary] of [['value', item.value], ['baseline', item.baseline?.value]] as const) {
      if (summary === undefined) continue;
      const numbers = [summary.median, summary.min, summary.max];
      if (!numbers.every(Number.isFinite)) problems.push(`${item.id}: ${name} is not finite`);
      if (summary.n < 1) problems.push(`${item.id}: ${name} has no samples`);
      if (summary.min > summary.median || summary.median > summary.max) problems.push(`${item.id}: ${name} out of order`);
    }
    if (item.target && item.pass === undefined) problems.push(`${item.id}: target without a verdict`);
  }
  for (const table of result.tables) {
    if (table.rows.some((row) => row.length !== table.columns.length)) problems.push(`table "${table.title}" is ragged`);
  }
  return problems;
}
