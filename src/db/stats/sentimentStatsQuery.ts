// sentimentStats in SQL written once for every dialect: the roll-up's whole hours plus the rows at the range's edges.
import { and, eq, gte, inArray, lt, sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { ownedBy, ownerKey } from '../owner.js';
import type { LabelCounts, SentimentStats, SentimentStatsOptions } from '../Repository.js';
import { RESULT_SOURCES } from '../rows.js';
import { bucketStart, rangeParts, type TimeDialect } from './timeRanges.js';

/** The two tables sentimentStats reads, in whichever dialect's definitions. */
export interface SentimentStatsTables {
  sentiments: Table & Record<'owner' | 'source' | 'label' | 'confidence' | 'createdAt' | 'conversationId', Column>;
  hourly: Table &
    Record<'ownerKey' | 'source' | 'hourStart' | 'positive' | 'negative' | 'neutral' | 'confidenceSum', Column>;
}

/** One row per bucket: its counts and its confidence sum (so totals and the average need no second pass). */
export interface SentimentBucketRow extends LabelCounts {
  start: number;
  confidenceSum: number;
}

// Every sum is cast, so each dialect's driver hands back a plain number (PostgreSQL's bigint sums would be strings).
const BUCKET_SUMS = sql.raw(`cast(sum(total) as double precision) as total,
  cast(sum(positive) as double precision) as positive, cast(sum(negative) as double precision) as negative,
  cast(sum(neutral) as double precision) as neutral, cast(sum(confidence_sum) as double precision) as "confidenceSum"`);

/**
 * The one statement behind sentimentStats: a single pass over the roll-up and the edge rows (one statement is one
 * snapshot in both dialects, so the series and the totals derived from it always agree).
 */
export function sentimentStatsQuery(
  tables: SentimentStatsTables,
  dialect: TimeDialect,
  options: SentimentStatsOptions,
): SQL {
  const rows = sql.join(rowSources(tables, dialect, options), sql` union all `);
  return sql`select cast(${bucketStart(options.bucket, dialect)} as double precision) as start, ${BUCKET_SUMS}
    from (${rows}) as counted group by 1 order by 1`;
}

/** The statement's rows as the API's answer: totals are the buckets' sums. */
export function toSentimentStats(buckets: readonly SentimentBucketRow[]): SentimentStats {
  const stats: SentimentStats = { total: 0, positive: 0, negative: 0, neutral: 0, averageConfidence: 0, series: [] };
  let confidenceSum = 0;
  for (const { start, total, positive, negative, neutral, confidenceSum: bucketConfidence } of buckets) {
    stats.total += total;
    stats.positive += positive;
    stats.negative += negative;
    stats.neutral += neutral;
    confidenceSum += bucketConfidence;
    stats.series.push({ start: new Date(start), total, positive, negative, neutral });
  }
  stats.averageConfidence = stats.total === 0 ? 0 : confidenceSum / stats.total;
  return stats;
}

// Each source yields rows of (at, total, positive, negative, neutral, confidence_sum) for the union.
function rowSources(tables: SentimentStatsTables, dialect: TimeDialect, options: SentimentStatsOptions): SQL[] {
  const from = options.from?.getTime();
  const to = options.to?.getTime();
  // The roll-up has no conversation column: a conversation's few rows are read directly.
  if (options.conversationId !== undefined) return [sentimentRows(tables, dialect, options, from, to)];
  const { wholeHours, edges } = rangeParts(from, to);
  return [
    ...(wholeHours ? [hourlyRows(tables, dialect, options, ...wholeHours)] : []),
    ...edges.map(([start, end]) => sentimentRows(tables, dialect, options, start, end)),
  ];
}

function hourlyRows(
  { hourly }: SentimentStatsTables,
  dialect: TimeDialect,
  options: SentimentStatsOptions,
  from: number | undefined,
  to: number | undefined,
): SQL {
  const where = and(
    eq(hourly.ownerKey, ownerKey(options.owner)),
    sourceIn(hourly.source, options),
    timeWithin(hourly.hourStart, from, to),
  );
  return sql`select ${dialect.epochMs(hourly.hourStart)} as at,
    ${hourly.positive} + ${hourly.negative} + ${hourly.neutral} as total, ${hourly.positive} as positive,
    ${hourly.negative} as negative, ${hourly.neutral} as neutral, ${hourly.confidenceSum} as confidence_sum
    from ${hourly} where ${where}`;
}

function sentimentRows(
  { sentiments: s }: SentimentStatsTables,
  dialect: TimeDialect,
  options: SentimentStatsOptions,
  from: number | undefined,
  to: number | undefined,
): SQL {
  const where = and(
    ownedBy(s.owner, options.owner),
    sourceIn(s.source, options),
    options.conversationId === undefined ? undefined : eq(s.conversationId, options.conversationId),
    timeWithin(s.createdAt, from, to),
  );
  const is = (label: string): SQL => sql`case when ${s.label} = ${label} then 1 else 0 end`;
  return sql`select ${dialect.epochMs(s.createdAt)} as at, 1 as total, ${is('positive')} as positive,
    ${is('negative')} as negative, ${is('neutral')} as neutral, ${s.confidence} as confidence_sum
    from ${s} where ${where}`;
}

/** [from, to) on a timestamp column; the bounds go through the column's own mapping (epoch ms or timestamptz). */
export function timeWithin(column: Column, from: number | undefined, to: number | undefined): SQL | undefined {
  return and(
    from === undefined ? undefined : gte(column, new Date(from)),
    to === undefined ? undefined : lt(column, new Date(to)),
  );
}

/**
 * Naming every source even when unfiltered keeps `source` an equality in the index, so the time after it is still
 * a range scan rather than a filter.
 */
export function sourceIn(column: Column, options: { source?: string | undefined }): SQL {
  return inArray(column, options.source === undefined ? [...RESULT_SOURCES] : [options.source]);
}
