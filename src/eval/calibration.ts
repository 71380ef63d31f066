// How well the classifier's confidence matches its accuracy: correct-vs-wrong means and ten equal-width bins.

import { ratio } from './metrics.js';

export interface ScoredAnswer {
  confidence: number;
  correct: boolean;
}

export interface CalibrationBin {
  /** Confidence range [from, to); the last bin includes 1. */
  from: number;
  to: number;
  count: number;
  /** Null when the bin is empty. */
  accuracy: number | null;
  meanConfidence: number | null;
}

export interface Calibration {
  meanConfidenceCorrect: number | null;
  meanConfidenceWrong: number | null;
  bins: CalibrationBin[];
  /** Expected calibration error: sum over bins of (count / total) * |accuracy - mean confidence|. */
  expectedCalibrationError: number;
}

/** Ten bins of width 0.1 (0.0–0.1 … 0.9–1.0), the usual reliability-diagram layout. */
export const CALIBRATION_BINS = 10;

// Confidences such as 0.7 are stored a hair below their decimal value; the nudge keeps them in their bin.
const BIN_EDGE_TOLERANCE = 1e-9;

function meanOrNull(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function computeCalibration(answers: readonly ScoredAnswer[]): Calibration {
  const binned: ScoredAnswer[][] = Array.from({ length: CALIBRATION_BINS }, () => []);
  for (const answer of answers) {
    const index = Math.min(CALIBRATION_BINS - 1, Math.max(0, Math.floor(answer.confidence * CALIBRATION_BINS + BIN_EDGE_TOLERANCE)));
    binned[index]?.push(answer);
  }
  let expectedCalibrationError = 0;
  const bins = binned.map((members, index): CalibrationBin => {
    const accuracy = meanOrNull(members.map((answer) => (answer.correct ? 1 : 0)));
    const meanConfidence = meanOrNull(members.map((answer) => answer.confidence));
    if (accuracy !== null && meanConfidence !== null) {
      expectedCalibrationError += ratio(members.length, answers.length) * Math.abs(accuracy - meanConfidence);
    }
    return { from: index / CALIBRATION_BINS, to: (index + 1) / CALIBRATION_BINS, count: members.length, accuracy, meanConfidence };
  });
  return {
    meanConfidenceCorrect: meanOrNull(answers.filter((answer) => answer.correct).map((answer) => answer.confidence)),
    meanConfidenceWrong: meanOrNull(answers.filter((answer) => !answer.correct).map((answer) => answer.confidence)),
    bins,
    expectedCalibrationError,
  };
}
