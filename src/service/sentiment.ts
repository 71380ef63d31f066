// A sentiment query: classify the texts in one engine job and store every result (source QUERY).
import type { NewTaskResult, Repository } from '../db/index.js';
import type { Engine, Locale, SentimentResult } from '../engine/index.js';
import { keyOf } from './OperationScope.js';
import { SENTIMENT_TASK, toSentimentView, type SentimentView } from './views.js';

export interface ClassifyRequest {
  texts: readonly string[];
  /** Default: detected from each text. */
  locale?: Locale;
  owner: string | null;
  /** The engine's fairness key (the operation's); default: the owner. */
  key?: string;
  /** Aborted: the engine work stops, and results that arrive anyway are not stored (nobody will receive them). */
  signal?: AbortSignal;
}

export async function classifyAndStore(
  engine: Engine,
  database: Repository,
  request: ClassifyRequest,
): Promise<SentimentView[]> {
  const results = await engine.classifyBatch(request.texts, {
    ...(request.locale ? { locale: request.locale } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    ...keyOf(request),
  });
  request.signal?.throwIfAborted();
  const analyses = await database.insertQueryAnalyses(
    results.map((result, index) => ({
      owner: request.owner,
      text: request.texts[index]!,
      taskResults: [toNewTaskResult(result)],
    })),
  );
  return analyses.map((analysis) => toSentimentView(analysis.taskResults[0]!));
}

export function toNewTaskResult(result: SentimentResult): NewTaskResult {
  const { positive, negative, neutral } = result.scores;
  return {
    task: SENTIMENT_TASK,
    kind: 'classify',
    locale: result.locale,
    label: result.label,
    confidence: result.confidence,
    scores: { positive, negative, neutral },
    latencyMs: result.latencyMs,
  };
}
