// Stores sentiment results, always together with their hourly roll-up.
import type { AppDatabase, DbExecutor } from './client.js';
import { addToHourlyCounts } from './hourlyCounts.js';
import { newId } from './ids.js';
import { sentiments } from './schema.js';

export type SentimentRow = typeof sentiments.$inferSelect;
export type SentimentSource = SentimentRow['source'];
export type SentimentLabel = SentimentRow['label'];

/** One classification as the engine reports it, before it belongs to a chat message or a query. */
export type NewSentiment = Pick<
  SentimentRow,
  'locale' | 'method' | 'label' | 'confidence' | 'scorePositive' | 'scoreNegative' | 'scoreNeutral' | 'latencyMs'
>;

/** A `sentiment`/`sentiments` query result: the classified text is kept, since no message holds it. */
export interface NewQuerySentiment extends NewSentiment {
  owner: string | null;
  text: string;
  /** Defaults to now. */
  createdAt?: Date;
}

type SentimentContext = Pick<SentimentRow, 'source' | 'owner' | 'conversationId' | 'messageId' | 'text' | 'createdAt'>;

/** Stores a batch of query results in one transaction; returns them in input order. */
export function insertQuerySentiments(app: AppDatabase, records: readonly NewQuerySentiment[]): SentimentRow[] {
  if (records.length === 0) return [];
  const now = new Date();
  return app.write((tx) =>
    records.map((record) =>
      writeSentiment(tx, record, {
        source: 'query',
        owner: record.owner,
        conversationId: null,
        messageId: null,
        text: record.text,
        createdAt: record.createdAt ?? now,
      }),
    ),
  );
}

/** Inserts one sentiment and counts it in the roll-up; runs inside the caller's transaction. */
export function writeSentiment(tx: DbExecutor, sentiment: NewSentiment, context: SentimentContext): SentimentRow {
  const row = tx
    .insert(sentiments)
    .values({
      id: newId(context.createdAt.getTime()),
      ...context,
      // Listed one by one: callers may pass a wider engine result, and only these fields are columns.
      locale: sentiment.locale,
      method: sentiment.method,
      label: sentiment.label,
      confidence: sentiment.confidence,
      scorePositive: sentiment.scorePositive,
      scoreNegative: sentiment.scoreNegative,
      scoreNeutral: sentiment.scoreNeutral,
      latencyMs: sentiment.latencyMs,
    })
    .returning()
    .get();
  addToHourlyCounts(tx, row);
  return row;
}
