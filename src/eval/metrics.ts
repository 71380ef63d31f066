// Classification metrics over gold/predicted label pairs: accuracy, per-class P/R/F1, macro averages, confusion.

import { SENTIMENT_LABELS, type SentimentLabel } from './classifier.js';

export interface LabelPair {
  gold: SentimentLabel;
  predicted: SentimentLabel;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Gold examples of this class. */
  support: number;
  /** Answers of this class. */
  predicted: number;
}

export interface ClassificationMetrics {
  scored: number;
  correct: number;
  accuracy: number;
  /** Unweighted mean over `classes` of the per-class F1. */
  macroF1: number;
  /** Unweighted mean over `classes` of the per-class recall. */
  macroRecall: number;
  /** The classes the macro averages run over: the data set's gold classes. */
  classes: SentimentLabel[];
  perClass: Partial<Record<SentimentLabel, ClassMetrics>>;
  /** confusion[gold][predicted]; rows are the data set's classes, columns all three labels. */
  confusion: Partial<Record<SentimentLabel, Record<SentimentLabel, number>>>;
}

/** The gold classes present, in the fixed label order; a set without neutral examples is binary. */
export function goldClasses(labels: Iterable<SentimentLabel>): SentimentLabel[] {
  const present = new Set(labels);
  return SENTIMENT_LABELS.filter((label) => present.has(label));
}

/** 0 for an empty denominator, as scikit-learn's `zero_division=0` does. */
export function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function mean(values: readonly number[]): number {
  return ratio(
    values.reduce((sum, value) => sum + value, 0),
    values.length,
  );
}

function emptyRow(): Record<SentimentLabel, number> {
  return { positive: 0, negative: 0, neutral: 0 };
}

/**
 * Scores predictions against gold labels. A prediction outside `classes` (NEUTRAL on a binary set)
 * counts as wrong: it lowers the gold class's recall and no class's precision.
 */
export function computeClassificationMetrics(
  pairs: readonly LabelPair[],
  classes: readonly SentimentLabel[],
): ClassificationMetrics {
  const confusion: Partial<Record<SentimentLabel, Record<SentimentLabel, number>>> = {};
  for (const label of classes) confusion[label] = emptyRow();
  const predictedCounts = emptyRow();
  let correct = 0;
  for (const { gold, predicted } of pairs) {
    const row = confusion[gold] ?? (confusion[gold] = emptyRow());
    row[predicted] += 1;
    predictedCounts[predicted] += 1;
    if (gold === predicted) correct += 1;
  }

  const perClass: Partial<Record<SentimentLabel, ClassMetrics>> = {};
  for (const label of classes) {
    const row = confusion[label] ?? emptyRow();
    const truePositives = row[label];
    const support = SENTIMENT_LABELS.reduce((sum, predicted) => sum + row[predicted], 0);
    const precision = ratio(truePositives, predictedCounts[label]);
    const recall = ratio(truePositives, support);
    perClass[label] = {
      precision,
      recall,
      f1: ratio(2 * precision * recall, precision + recall),
      support,
      predicted: predictedCounts[label],
    };
  }

  const classMetrics = classes.map((label) => perClass[label]).filter((value) => value !== undefined);
  return {
    scored: pairs.length,
    correct,
    accuracy: ratio(correct, pairs.length),
    macroF1: mean(classMetrics.map((metrics) => metrics.f1)),
    macroRecall: mean(classMetrics.map((metrics) => metrics.recall)),
    classes: [...classes],
    perClass,
    confusion,
  };
}
