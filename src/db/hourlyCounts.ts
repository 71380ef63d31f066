// Keeps the per-hour sentiment roll-up (sentiment_hourly_counts) in step with the sentiments table.
import { sql } from 'drizzle-orm';
import type { AppDatabase, DbExecutor } from './client.js';
import { ownerKey, ownerKeyOf } from './owner.js';
import { sentimentHourlyCounts, sentiments } from './schema.js';

export const HOUR_MS = 3_600_000;

type CountedSentiment = Pick<typeof sentiments.$inferSelect, 'owner' | 'source' | 'label' | 'confidence' | 'createdAt'>;

/** Adds one stored sentiment to its hour; call inside the transaction that inserted it. */
export function addToHourlyCounts(tx: DbExecutor, row: CountedSentiment): void {
  const at = row.createdAt.getTime();
  const t = sentimentHourlyCounts;
  tx.insert(t)
    .values({
      ownerKey: ownerKey(row.owner),
      source: row.source,
      hourStart: at - (at % HOUR_MS),
      positive: row.label === 'positive' ? 1 : 0,
      negative: row.label === 'negative' ? 1 : 0,
      neutral: row.label === 'neutral' ? 1 : 0,
      confidenceSum: row.confidence,
    })
    .onConflictDoUpdate({
      target: [t.ownerKey, t.source, t.hourStart],
      set: {
        positive: sql`${t.positive} + excluded.positive`,
        negative: sql`${t.negative} + excluded.negative`,
        neutral: sql`${t.neutral} + excluded.neutral`,
        confidenceSum: sql`${t.confidenceSum} + excluded.confidence_sum`,
      },
    })
    .run();
}

/**
 * Recomputes the whole roll-up from the sentiments table in one transaction: for bulk loads that insert
 * rows directly (the seed script), and as a repair if something wrote sentiments behind this module's back.
 */
export function rebuildHourlyCounts(app: AppDatabase): void {
  const s = sentiments;
  app.write((tx) => {
    tx.delete(sentimentHourlyCounts).run();
    const hourStart = sql<number>`${s.createdAt} - ${s.createdAt} % ${HOUR_MS}`;
    tx.insert(sentimentHourlyCounts)
      .select(
        tx
          .select({
            ownerKey: ownerKeyOf(s.owner).as('owner_key'),
            source: s.source,
            hourStart: hourStart.as('hour_start'),
            positive: sql<number>`sum(${s.label} = 'positive')`.as('positive'),
            negative: sql<number>`sum(${s.label} = 'negative')`.as('negative'),
            neutral: sql<number>`sum(${s.label} = 'neutral')`.as('neutral'),
            confidenceSum: sql<number>`sum(${s.confidence})`.as('confidence_sum'),
          })
          .from(s)
          .groupBy(ownerKeyOf(s.owner), s.source, hourStart),
      )
      .run();
  });
}
