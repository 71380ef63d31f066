// Classification metrics over gold/predicted label pairs: accuracy, per-class P/R/F1, macro averages, confusion.

export interface LabelPair {
  gold: string;
  predicted: string;
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
  classes: string[];
  /** Every label an answer may carry, in the task's order. */
  labels: string[];
  perClass: Record<string, ClassMetrics>;
  /** confusion[gold][predicted]; rows are the data set's classes, columns all the task's labels. */
  confusion: Record<string, Record<string, number>>;
}

/** The gold classes present, in the task's label order (for sentiment, a set without neutral examples is binary). */
export function goldClasses(golds: Iterable<string>, labels: readonly string[]): string[] {
  const present = new Set(golds);
  return labels.filter((label) => present.has(label));
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

/**
 * Scores predictions against gold labels. A prediction outside `classes` (NEUTRAL on a binary sentiment set, or any
 * task label the data set never uses) counts as wrong: it lowers the gold class's recall and no class's precision.
 */
export function computeClassificationMetrics(
  pairs: readonly LabelPair[],
  classes: readonly string[],
  labels: readonly string[],
): ClassificationMetrics {
  const emptyRow = (): Record<string, number> => Object.fromEntries(labels.map((label) => [label, 0]));
  const confusion: Record<string, Record<string, number>> = {};
  for (const label of classes) confusion[label] = emptyRow();
  const predictedCounts = emptyRow();
  let correct = 0;
  for (const { gold, predicted } of pairs) {
    const row = confusion[gold] ?? (confusion[gold] = emptyRow());
    row[predicted] = (row[predicted] ?? 0) + 1;
    predictedCounts[predicted] = (predictedCounts[predicted] ?? 0) + 1;
    if (gold === predicted) correct += 1;
  }

  const perClass: Record<string, ClassMetrics> = {};
  for (const label of classes) {
    const row = confusion[label] ?? emptyRow();
    const truePositives = row[label] ?? 0;
    const support = Object.values(row).reduce((sum, count) => sum + count, 0);
    const predicted = predictedCounts[label] ?? 0;
    const precision = ratio(truePositives, predicted);
    const recall = ratio(truePositives, support);
    perClass[label] = { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support, predicted };
  }

  const classMetrics = classes.map((label) => perClass[label]).filter((value) => value !== undefined);
  return {
    scored: pairs.length,
    correct,
    accuracy: ratio(correct, pairs.length),
    macroF1: mean(classMetrics.map((metrics) => metrics.f1)),
    macroRecall: mean(classMetrics.map((metrics) => metrics.recall)),
    classes: [...classes],
    labels: [...labels],
    perClass,
    confusion,
  };
}
