// A sentiment query: classify the texts in one engine job and store every result (source QUERY).
import type { Repository } from '../db/index.js';
import { SENTIMENT_TASK_NAME, type Engine, type Locale, type TaskRun } from '../engine/index.js';
import { sentimentOf } from './analysis.js';
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
  const rows = await database.insertQuerySentiments(
    runs.map((run, index) => ({ ...toNewSentiment(run), owner: request.owner, text: request.texts[index]! })),
  );
  return rows.map(toSentimentView);
}

/** A run of the task `sentiment` alone as the sentiment record it is stored as. */
function toNewSentiment(run: TaskRun) {
  const [result] = run.results;
  if (result?.kind !== 'classify') throw new Error('A sentiment run gave no classification.');
  return sentimentOf(result, run.locale);
}
