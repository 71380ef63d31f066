// The slice of the engine the harness needs: `Engine` satisfies it, and tests can pass a double.

import type { Completion, CompleteOptions, PromptPart, SentimentLabel, TaskRunOptions } from '../engine/index.js';

export { SENTIMENT_LABELS } from '../engine/index.js';
export type { Locale, SentimentLabel } from '../engine/index.js';

/** Sentiment's two methods: its labels' probabilities (the product's), or the original generate-and-parse baseline. */
export type SentimentMethod = 'logprob' | 'generate';

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

/** Sentiment's answer by the generate-and-parse baseline. */
export interface SentimentAnswer extends ClassifierAnswer {
  label: SentimentLabel;
  scores: Record<SentimentLabel, number>;
}

/** One task's result as `Engine.runTasks` gives it; only classifications are evaluated. */
export type TaskAnswer =
  | ({ kind: 'classify' } & Pick<ClassifierAnswer, 'label' | 'confidence' | 'scores' | 'latencyMs' | 'promptTokens'>)
  | { kind: 'extract' };

/** What the baseline needs: greedy generation after a whole prompt. */
export interface BaselineEngine {
  complete(prompt: readonly PromptPart[], options: CompleteOptions): Promise<Pick<Completion, 'text' | 'promptTokens' | 'latencyMs'>>;
}

export interface EvalEngine extends BaselineEngine {
  /** Any task by name; the harness asks for one classify task at a time (sentiment's `logprob` method included). */
  runTasks(text: string, tasks: readonly string[], options?: TaskRunOptions): Promise<{ results: readonly TaskAnswer[] }>;
}

/** An engine the harness opened itself and must release. */
export interface OwnedEngine extends EvalEngine {
  dispose(): Promise<void>;
}
