// The shape of an evaluation report (printed as a table, written as JSON) and its data-set summary.

import type { Locale, SentimentMethod } from './classifier.js';
import type { TargetScoring } from './evalTarget.js';
import type { BadRow, Dataset, DatasetFormat, LabelledText } from './readDataset.js';
import { goldClasses } from './metrics.js';
import type { MethodReport } from './summarizeRun.js';

/** Bad rows quoted in the JSON report; the count is always complete. */
export const REPORTED_BAD_ROWS = 100;

export interface DatasetSummary {
  path: string;
  labelsPath?: string;
  format: DatasetFormat;
  textField: string;
  labelField: string;
  labelMapping: string;
  /** Sentiment only: `binary` when no gold label is neutral; then NEUTRAL answers are reported both ways. */
  kind?: 'binary' | 'three-class';
  /** The task's labels: every answer it may give. */
  labels: string[];
  /** The gold labels present, in the task's order. */
  classes: string[];
  /** Gold labels of the rows evaluated. */
  distribution: Record<string, number>;
  /** Usable rows in the file. */
  validRows: number;
  /** Rows evaluated: the first `limit` usable rows, or all of them. */
  evaluatedRows: number;
  limit?: number;
  badRows: { count: number; samples: BadRow[] };
  blankLines: number;
}

export interface EvalReport {
  generatedAt: string;
  model: string;
  /** The task evaluated: `sentiment` unless `--task` names another classify task. */
  task: string;
  /** `auto` when the prompt language was chosen per text (detectLocale). */
  locale: Locale | 'auto';
  methods: SentimentMethod[];
  dataset: DatasetSummary;
  runs: MethodReport[];
}

export function summarizeDataset(
  dataset: Dataset,
  evaluated: readonly LabelledText[],
  target: TargetScoring,
  limit?: number,
): DatasetSummary {
  const { labels } = target.vocabulary;
  const classes = goldClasses(
    evaluated.map((example) => example.label),
    labels,
  );
  const distribution: Record<string, number> = {};
  for (const { label } of evaluated) distribution[label] = (distribution[label] ?? 0) + 1;
  return {
    path: dataset.path,
    ...(dataset.labelsPath === undefined ? {} : { labelsPath: dataset.labelsPath }),
    format: dataset.format,
    textField: dataset.textField,
    labelField: dataset.labelField,
    labelMapping: dataset.labelMapping,
    ...(target.neutralOnBinary ? { kind: classes.includes('neutral') ? 'three-class' : 'binary' } : {}),
    labels: [...labels],
    classes,
    distribution,
    validRows: dataset.examples.length,
    evaluatedRows: evaluated.length,
    ...(limit === undefined ? {} : { limit }),
    badRows: { count: dataset.badRows.length, samples: dataset.badRows.slice(0, REPORTED_BAD_ROWS) },
    blankLines: dataset.blankLines,
  };
}
