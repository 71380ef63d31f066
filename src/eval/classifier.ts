// The slice of the engine the harness needs: `Engine` satisfies it, and tests can pass a double.

import type { ClassifyOptions, SentimentResult, TaskRunOptions } from '../engine/index.js';

export { SENTIMENT_LABELS } from '../engine/index.js';
export type { Locale, SentimentLabel, SentimentMethod } from '../engine/index.js';

/** What one classification returns, as far as the metrics care. */
export interface ClassifierAnswer {
  label: string;
  confidence: number;
  /** A probability per label of the task. */
  scores: Readonly<Record<string, number>>;
  latencyMs: number;
  promptTokens: number;
  /** False when a generated answer named no label. */
  parsed: boolean;
  rawAnswer?: string;
}

/** Sentiment's answer as `Engine.classify` gives it. */
export type SentimentAnswer = Pick<
  SentimentResult,
  'label' | 'confidence' | 'scores' | 'latencyMs' | 'promptTokens' | 'parsed' | 'rawAnswer'
>;

/** One task's result as `Engine.runTasks` gives it; only classifications are evaluated. */
export type TaskAnswer =
  | ({ kind: 'classify' } & Pick<ClassifierAnswer, 'label' | 'confidence' | 'scores' | 'latencyMs' | 'promptTokens'>)
  | { kind: 'extract' };

export interface EvalEngine {
  /** Sentiment, by either method. */
  classify(text: string, options?: ClassifyOptions): Promise<SentimentAnswer>;
  /** Any task by name; the harness asks for one classify task at a time. */
  runTasks(text: string, tasks: readonly string[], options?: TaskRunOptions): Promise<{ results: readonly TaskAnswer[] }>;
}

/** An engine the harness opened itself and must release. */
export interface OwnedEngine extends EvalEngine {
  dispose(): Promise<void>;
}
