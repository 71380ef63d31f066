// The slice of the engine the harness needs: `Engine` satisfies it, and tests can pass a double.

import type { ClassifyOptions, SentimentResult } from '../engine/index.js';

export { SENTIMENT_LABELS } from '../engine/index.js';
export type { Locale, SentimentLabel, SentimentMethod } from '../engine/index.js';

/** What one classification returns, as far as the metrics care. */
export type ClassifierAnswer = Pick<
  SentimentResult,
  'label' | 'confidence' | 'scores' | 'latencyMs' | 'promptTokens' | 'parsed' | 'rawAnswer'
>;

export interface SentimentClassifier {
  classify(text: string, options?: ClassifyOptions): Promise<ClassifierAnswer>;
}

/** A classifier the harness opened itself and must release. */
export interface OwnedClassifier extends SentimentClassifier {
  dispose(): Promise<void>;
}
