// Sentiment as the product runs it on the engine: the task `sentiment` alone, its classification with the run's language.
import type { Classification, Engine, Locale, SentimentLabel, TaskRunOptions } from '../../src/engine/index.js';

export type SentimentClassification = Classification & { label: SentimentLabel; scores: Record<SentimentLabel, number>; locale: Locale };

export async function classifySentiment(
  engine: Engine,
  text: string,
  options: TaskRunOptions = {},
): Promise<SentimentClassification> {
  const { locale, results } = await engine.runTasks(text, ['sentiment'], options);
  const [result] = results;
  if (result?.kind !== 'classify') throw new Error('sentiment gave no classification');
  return { ...result, locale, label: result.label as SentimentLabel, scores: result.scores as Record<SentimentLabel, number> };
}
