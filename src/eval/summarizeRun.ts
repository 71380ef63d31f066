// Turns one method's predictions into its report: metrics, NEUTRAL handling on binary sentiment sets, calibration, cost.

import { computeCalibration, type Calibration } from './calibration.js';
import type { Locale, SentimentMethod } from './classifier.js';
import { summarize, type Distribution } from './distribution.js';
import type { TargetScoring } from './evalTarget.js';
import { computeClassificationMetrics, ratio, type ClassificationMetrics } from './metrics.js';

export interface Prediction {
  line: number;
  gold: string;
  /** Prompt language the text was classified with. */
  locale: Locale;
  predicted: string;
  confidence: number;
  scores: Readonly<Record<string, number>>;
  latencyMs: number;
  promptTokens: number;
  parsed: boolean;
  rawAnswer?: string;
}

export interface FailedText {
  line: number;
  message: string;
}

/** How NEUTRAL answers were scored on a data set whose gold labels are only positive and negative. */
export interface NeutralOnBinary {
  count: number;
  rate: number;
  /** (b): every NEUTRAL answer replaced by whichever of positive/negative scored higher. */
  mappedMetrics: ClassificationMetrics;
  /** NEUTRAL answers with equal positive and negative scores (e.g. unparsed answers); still wrong under (b). */
  unresolved: number;
}

export interface MethodReport {
  method: SentimentMethod;
  /** Texts sent to the classifier, including failed ones. */
  texts: number;
  /** Texts scored per prompt language. */
  locales: Partial<Record<Locale, number>>;
  /** Primary metrics; on a binary sentiment set these are (a), NEUTRAL counted as wrong. */
  metrics: ClassificationMetrics;
  metricsNote: string;
  neutralOnBinary?: NeutralOnBinary;
  unparsed: { count: number; rate: number; samples: { line: number; answer: string }[] };
  /** Texts the classifier threw on; they are left out of every metric. */
  failed: { count: number; samples: FailedText[] };
  calibration: Calibration;
  latencyMs: Distribution;
  promptTokens: Distribution;
  /** One entry per scored text, by line, so two runs can be diffed. */
  predictions: Prediction[];
}

/** How many unparsed answers and failures are quoted in the report; the counts are always complete. */
export const REPORTED_SAMPLES = 10;

const NOTE_BINARY = '(a) NEUTRAL answers counted as wrong';
const NOTE_THREE_CLASS = 'three-class data set: every answer scored as given';
const NOTE_AS_GIVEN = 'every answer scored as given';

function resolveNeutral(prediction: Prediction): string {
  if (prediction.predicted !== 'neutral') return prediction.predicted;
  const positive = prediction.scores['positive'] ?? 0;
  const negative = prediction.scores['negative'] ?? 0;
  if (positive === negative) return 'neutral';
  return positive > negative ? 'positive' : 'negative';
}

function scoreNeutralOnBinary(
  predictions: readonly Prediction[],
  classes: readonly string[],
  labels: readonly string[],
): NeutralOnBinary {
  const count = predictions.filter((prediction) => prediction.predicted === 'neutral').length;
  const mapped = predictions.map((prediction) => ({ gold: prediction.gold, predicted: resolveNeutral(prediction) }));
  return {
    count,
    rate: ratio(count, predictions.length),
    mappedMetrics: computeClassificationMetrics(mapped, classes, labels),
    unresolved: mapped.filter((pair) => pair.predicted === 'neutral').length,
  };
}

export function summarizeRun(
  method: SentimentMethod,
  predictions: readonly Prediction[],
  failures: readonly FailedText[],
  classes: readonly string[],
  scoring: TargetScoring,
): MethodReport {
  const { labels } = scoring.vocabulary;
  const binary = scoring.neutralOnBinary && !classes.includes('neutral');
  const unparsed = predictions.filter((prediction) => !prediction.parsed);
  const locales: Partial<Record<Locale, number>> = {};
  for (const { locale } of predictions) locales[locale] = (locales[locale] ?? 0) + 1;
  return {
    method,
    texts: predictions.length + failures.length,
    locales,
    metrics: computeClassificationMetrics(predictions, classes, labels),
    metricsNote: binary ? NOTE_BINARY : scoring.neutralOnBinary ? NOTE_THREE_CLASS : NOTE_AS_GIVEN,
    ...(binary ? { neutralOnBinary: scoreNeutralOnBinary(predictions, classes, labels) } : {}),
    unparsed: {
      count: unparsed.length,
      rate: ratio(unparsed.length, predictions.length),
      samples: unparsed.slice(0, REPORTED_SAMPLES).map(({ line, rawAnswer }) => ({ line, answer: rawAnswer ?? '' })),
    },
    failed: { count: failures.length, samples: failures.slice(0, REPORTED_SAMPLES) },
    calibration: computeCalibration(
      predictions.map((prediction) => ({
        confidence: prediction.confidence,
        correct: prediction.gold === prediction.predicted,
      })),
    ),
    latencyMs: summarize(predictions.map((prediction) => prediction.latencyMs)),
    promptTokens: summarize(predictions.map((prediction) => prediction.promptTokens)),
    predictions: [...predictions],
  };
}
