// Sends every example through the engine once per method and summarises each method's answers.

import type { EvalEngine, Locale, SentimentMethod } from './classifier.js';
import { detectLocale } from '../engine/detectLocale.js';
import type { EvalTarget } from './evalTarget.js';
import { goldClasses } from './metrics.js';
import type { LabelledText } from './readDataset.js';
import { summarizeRun, type FailedText, type MethodReport, type Prediction } from './summarizeRun.js';

export interface RunEvaluationOptions {
  /** Methods to run, in order, each over all examples. */
  methods: readonly SentimentMethod[];
  /** Prompt language for every text; unset picks it per text from the script (detectLocale). */
  locale?: Locale;
  /** Stops the run between (and, if the engine honours it, during) texts. */
  signal?: AbortSignal;
  /** Called after each text with the texts done and the total across all methods. */
  onProgress?: (done: number, total: number) => void;
}

export async function runEvaluation(
  engine: EvalEngine,
  target: EvalTarget,
  examples: readonly LabelledText[],
  options: RunEvaluationOptions,
): Promise<MethodReport[]> {
  const classes = goldClasses(
    examples.map((example) => example.label),
    target.vocabulary.labels,
  );
  const total = examples.length * options.methods.length;
  let done = 0;
  const reports: MethodReport[] = [];
  options.onProgress?.(0, total);
  for (const method of options.methods) {
    const predictions: Prediction[] = [];
    const failures: FailedText[] = [];
    for (const example of examples) {
      options.signal?.throwIfAborted();
      const locale = options.locale ?? detectLocale(example.text);
      try {
        const answer = await target.answer(engine, example.text, {
          method,
          locale,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        predictions.push({
          line: example.line,
          gold: example.label,
          locale,
          predicted: answer.label,
          confidence: answer.confidence,
          scores: answer.scores,
          latencyMs: answer.latencyMs,
          promptTokens: answer.promptTokens,
          parsed: answer.parsed,
          ...(answer.rawAnswer === undefined ? {} : { rawAnswer: answer.rawAnswer }),
        });
      } catch (error) {
        // One bad text (say, longer than the context) should not cost a long run; an abort should.
        if (options.signal?.aborted) throw error;
        failures.push({ line: example.line, message: error instanceof Error ? error.message : String(error) });
      }
      done += 1;
      options.onProgress?.(done, total);
    }
    reports.push(summarizeRun(method, predictions, failures, classes, target));
  }
  return reports;
}
