// A sentiment query: the task `sentiment` on each text in one engine job, every result stored (source QUERY).
import type { Repository } from '../db/index.js';
import { SENTIMENT_TASK_NAME, type Engine, type Locale } from '../engine/index.js';
import { storedShapeOf } from './analysis.js';
import { keyOf } from './OperationScope.js';
import { toSentimentView, type SentimentView } from './views.js';

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
  const runs = await engine.runTaskBatch(request.texts, [SENTIMENT_TASK_NAME], {
    ...(request.locale ? { locale: request.locale } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    ...keyOf(request),
  });
  request.signal?.throwIfAborted();
  const analyses = await database.insertQueryAnalyses(
    runs.map((run, index) => ({ owner: request.owner, text: request.texts[index]!, ...storedShapeOf(run) })),
  );
  return analyses.map((analysis) => toSentimentView(analysis.taskResults[0]!));
}
