// Sentiment statistics by SQL aggregation: totals and a UTC-bucketed series, scoped by owner.
import { sql, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './client.js';
import { HOUR_MS } from './hourlyCounts.js';
import { ownedBy, ownerKey } from './owner.js';
import { sentimentHourlyCounts as hourly, sentiments } from './schema.js';
import type { SentimentSource } from './sentiments.js';

export type StatsBucket = 'hour' | 'day' | 'week' | 'month';

export interface SentimentStatsOptions {
  owner: string | null;
  /** Inclusive lower bound on createdAt. */
  from?: Date;
  /** Exclusive upper bound on createdAt, so consecutive ranges never count a row twice. */
  to?: Date;
  conversationId?: string;
  source?: SentimentSource;
  bucket: StatsBucket;
}

export interface LabelCounts {
  total: number;
  positive: number;
  negative: number;
  neutral: number;
}

export interface SentimentSeriesPoint extends LabelCounts {
  /** Start of the UTC bucket. */
  start: Date;
}

export interface SentimentStats extends LabelCounts {
  /** 0 when there is nothing to average. */
  averageConfidence: number;
  /** Non-empty buckets only, ascending by start. */
  series: SentimentSeriesPoint[];
}

const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
// 1970-01-01 was a Thursday: shifting by three days makes ISO weeks start on Monday.
const MONDAY_SHIFT_MS = 3 * DAY_MS;
const ALL_SOURCES: readonly SentimentSource[] = ['chat', 'query'];

// `at` is epoch ms (integer arithmetic in SQLite); months are calendar months, so they need the date functions.
export const BUCKET_START: Record<StatsBucket, SQL> = {
  hour: sql.raw(`at - at % ${HOUR_MS}`),
  day: sql.raw(`at - at % ${DAY_MS}`),
  week: sql.raw(`at - (at + ${MONDAY_SHIFT_MS}) % ${WEEK_MS}`),
  month: sql.raw(`unixepoch(at / 1000, 'unixepoch', 'start of month') * 1000`),
};

/**
 * Counts per label, average confidence and a per-bucket series, all aggregated inside SQLite. Owner-wide
 * stats read whole hours from the hourly roll-up and only the partial hours at the range's edges from the
 * sentiments table, so a year costs ~9,000 roll-up rows per source however many sentiments it holds.
 */
export function sentimentStats(app: AppDatabase, options: SentimentStatsOptions): SentimentStats {
  const rows = sql.join(rowSources(options), sql` union all `);
  const labelSums = sql`sum(total) as total, sum(positive) as positive,
    sum(negative) as negative, sum(neutral) as neutral`;
  // One read transaction, so the totals and the series come from the same snapshot.
  return app.read((db) =>
    db.transaction((tx) => {
      // Sums over no rows are NULL.
      const totals = tx.get<Record<keyof LabelCounts | 'averageConfidence', number | null>>(
        sql`select ${labelSums}, sum(confidence_sum) / sum(total) as averageConfidence from (${rows})`,
      );
      const series = tx.all<LabelCounts & { start: number }>(
        sql`select ${BUCKET_START[options.bucket]} as start, ${labelSums} from (${rows}) group by 1 order by 1`,
      );
      return {
        total: totals.total ?? 0,
        positive: totals.positive ?? 0,
        negative: totals.negative ?? 0,
        neutral: totals.neutral ?? 0,
        averageConfidence: totals.averageConfidence ?? 0,
        series: series.map((point) => ({ ...point, start: new Date(point.start) })),
      };
    }),
  );
}

/** Where a time range's rows come from: whole hours from a roll-up, the partial hours at its edges from the rows. */
export interface RangeParts {
  /** [from, to) of the whole hours (bounds undefined when open), or undefined when the range holds no whole hour. */
  wholeHours: [number | undefined, number | undefined] | undefined;
  /** Ranges to read row by row: the partial hours at the edges (or the whole range when it has no whole hour). */
  edges: [number | undefined, number | undefined][];
}

/** Splits [from, to) into whole UTC hours and the partial hours around them. */
export function rangeParts(from: number | undefined, to: number | undefined): RangeParts {
  const firstWholeHour = from === undefined ? undefined : Math.ceil(from / HOUR_MS) * HOUR_MS;
  const endOfWholeHours = to === undefined ? undefined : Math.floor(to / HOUR_MS) * HOUR_MS;
  // No whole hour inside the range (an empty range included): its few rows are read directly.
  if (firstWholeHour !== undefined && endOfWholeHours !== undefined && firstWholeHour >= endOfWholeHours) {
    return { wholeHours: undefined, edges: [[from, to]] };
  }
  const edges: [number | undefined, number | undefined][] = [];
  // Two separate ranges rather than one OR, so each stays an index range scan.
  if (from !== undefined && firstWholeHour !== undefined && from < firstWholeHour) edges.push([from, firstWholeHour]);
  if (to !== undefined && endOfWholeHours !== undefined && endOfWholeHours < to) edges.push([endOfWholeHours, to]);
  return { wholeHours: [firstWholeHour, endOfWholeHours], edges };
}

// Each source yields rows of (at, total, positive, negative, neutral, confidence_sum) for the union.
function rowSources(options: SentimentStatsOptions): SQL[] {
  const from = options.from?.getTime();
  const to = options.to?.getTime();
  // The roll-up has no conversation column: a conversation's few rows are read directly.
  if (options.conversationId !== undefined) return [sentimentRows(options, from, to)];
  const { wholeHours, edges } = rangeParts(from, to);
  return [
    ...(wholeHours ? [hourlyRows(options, ...wholeHours)] : []),
    ...edges.map(([start, end]) => sentimentRows(options, start, end)),
  ];
}

function hourlyRows(options: SentimentStatsOptions, from: number | undefined, to: number | undefined): SQL {
  return sql`select ${hourly.hourStart} as at, ${hourly.positive} + ${hourly.negative} + ${hourly.neutral} as total,
    ${hourly.positive} as positive, ${hourly.negative} as negative, ${hourly.neutral} as neutral,
    ${hourly.confidenceSum} as confidence_sum
    from ${hourly}
    where ${hourly.ownerKey} = ${ownerKey(options.owner)} and ${sourceIn(hourly.source, options.source)}
      ${from === undefined ? sql`` : sql`and ${hourly.hourStart} >= ${from}`}
      ${to === undefined ? sql`` : sql`and ${hourly.hourStart} < ${to}`}`;
}

function sentimentRows(options: SentimentStatsOptions, from: number | undefined, to: number | undefined): SQL {
  const s = sentiments;
  return sql`select ${s.createdAt} as at, 1 as total, ${s.label} = 'positive' as positive,
    ${s.label} = 'negative' as negative, ${s.label} = 'neutral' as neutral, ${s.confidence} as confidence_sum
    from ${s}
    where ${ownedBy(s.owner, options.owner)} and ${sourceIn(s.source, options.source)}
      ${options.conversationId === undefined ? sql`` : sql`and ${s.conversationId} = ${options.conversationId}`}
      ${from === undefined ? sql`` : sql`and ${s.createdAt} >= ${from}`}
      ${to === undefined ? sql`` : sql`and ${s.createdAt} < ${to}`}`;
}

// Naming every source even when unfiltered keeps `source` an equality in the index, so created_at (or
// hour_start) after it is still a range scan rather than a filter.
function sourceIn(column: typeof sentiments.source | typeof hourly.source, source: SentimentSource | undefined): SQL {
  const sources = source === undefined ? ALL_SOURCES : [source];
  return sql`${column} in (${sql.join(
    sources.map((value) => sql`${value}`),
    sql`, `,
  )})`;
}
