// The shape of an evaluation report (printed as a table, written as JSON) and its data-set summary.

import type { Locale, SentimentLabel, SentimentMethod } from './classifier.js';
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
  /** `binary` when no gold label is neutral; then NEUTRAL answers are reported both ways. */
  kind: 'binary' | 'three-class';
  classes: SentimentLabel[];
  /** Gold labels of the rows evaluated. */
  distribution: Partial<Record<SentimentLabel, number>>;
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
  /** `auto` when the prompt language was chosen per text (detectLocale). */
  locale: Locale | 'auto';
  methods: SentimentMethod[];
  dataset: DatasetSummary;
  runs: MethodReport[];
}

export function summarizeDataset(dataset: Dataset, evaluated: readonly LabelledText[], limit?: number): DatasetSummary {
  const classes = goldClasses(evaluated.map((example) => example.label));
  const distribution: Partial<Record<SentimentLabel, number>> = {};
  for (const { label } of evaluated) distribution[label] = (distribution[label] ?? 0) + 1;
  return {
    path: dataset.path,
    ...(dataset.labelsPath === undefined ? {} : { labelsPath: dataset.labelsPath }),
    format: dataset.format,
    textField: dataset.textField,
    labelField: dataset.labelField,
    labelMapping: dataset.labelMapping,
    kind: classes.includes('neutral') ? 'three-class' : 'binary',
    classes,
    distribution,
    validRows: dataset.examples.length,
    evaluatedRows: evaluated.length,
    ...(limit === undefined ? {} : { limit }),
    badRows: { count: dataset.badRows.length, samples: dataset.badRows.slice(0, REPORTED_BAD_ROWS) },
    blankLines: dataset.blankLines,
  };
}
