// taskStats (sentimentStats too) in SQL written once for every dialect: the daily roll-up's whole days, the hourly
// roll-up's whole hours around them, and the rows of the partial hours at the range's edges.
import { and, eq, gte, inArray, lt, sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { ownedBy, ownerKey } from '../owner.js';
import type { LabelCount, TaskStats, TaskStatsOptions } from '../Repository.js';
import { RESULT_SOURCES } from '../rows.js';
import { bucketStart, rangeParts, type TimeDialect } from './timeRanges.js';

type Rollup = Table & Record<'ownerKey' | 'task' | 'source' | 'label' | 'count' | 'confidenceSum', Column>;

/** The three tables taskStats reads, in whichever dialect's definitions. */
export interface TaskStatsTables {
  results: Table &
    Record<'owner' | 'task' | 'kind' | 'source' | 'label' | 'confidence' | 'createdAt' | 'conversationId', Column>;
  hourly: Rollup & Record<'hourStart', Column>;
  daily: Rollup & Record<'dayStart', Column>;
}

/** One row per bucket and label: its count and confidence sum. */
export interface TaskBucketRow {
  start: number;
  label: string;
  count: number;
  confidenceSum: number;
}

/**
 * The one statement behind taskStats: a single pass over the roll-up and the edge rows, from which the totals and label
 * counts are summed (one statement is one snapshot in both dialects, so the series and the totals always agree).
 */
export function taskStatsQuery(tables: TaskStatsTables, dialect: TimeDialect, options: TaskStatsOptions): SQL {
  const rows = sql.join(rowSources(tables, dialect, options), sql` union all `);
  return sql`select cast(${bucketStart(options.bucket, dialect)} as double precision) as start, label,
    cast(sum(count) as double precision) as count, cast(sum(confidence_sum) as double precision) as "confidenceSum"
    from (${rows}) as counted group by 1, 2 order by 1, 3 desc, 2`;
}

/** The statement's rows as the API's answer: one point per bucket, labels most frequent first (ties by name). */
export function toTaskStats(buckets: readonly TaskBucketRow[]): TaskStats {
  const series: TaskStats['series'] = [];
  const perLabel = new Map<string, number>();
  let total = 0;
  let confidenceSum = 0;
  for (const { start, label, count, confidenceSum: bucketConfidence } of buckets) {
    let point = series.at(-1);
    if (!point || point.start.getTime() !== start) {
      point = { start: new Date(start), total: 0, labels: [] };
      series.push(point);
    }
    point.total += count;
    point.labels.push({ label, count });
    perLabel.set(label, (perLabel.get(label) ?? 0) + count);
    total += count;
    confidenceSum += bucketConfidence;
  }
  const labels: LabelCount[] = [...perLabel].map(([label, count]) => ({ label, count }));
  labels.sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return { total, averageConfidence: total === 0 ? 0 : confidenceSum / total, labels, series };
}

// Each source yields rows of (at, label, count, confidence_sum) for the union.
function rowSources(tables: TaskStatsTables, dialect: TimeDialect, options: TaskStatsOptions): SQL[] {
  const from = options.from?.getTime();
  const to = options.to?.getTime();
  // The roll-up has no conversation column: a conversation's few rows are read directly.
  if (options.conversationId !== undefined) return [resultRows(tables, dialect, options, from, to)];
  const { wholeDays, wholeHours, edges } = rangeParts(from, to, options.bucket);
  const { daily, hourly } = tables;
  return [
    ...(wholeDays ? [rollupRows(daily, daily.dayStart, dialect, options, ...wholeDays)] : []),
    ...wholeHours.map(([start, end]) => rollupRows(hourly, hourly.hourStart, dialect, options, start, end)),
    ...edges.map(([start, end]) => resultRows(tables, dialect, options, start, end)),
  ];
}

// A roll-up's periods starting within [from, to), each counted at its start.
function rollupRows(
  rollup: Rollup,
  start: Column,
  dialect: TimeDialect,
  options: TaskStatsOptions,
  from: number | undefined,
  to: number | undefined,
): SQL {
  const where = and(
    eq(rollup.ownerKey, ownerKey(options.owner)),
    eq(rollup.task, options.task),
    sourceIn(rollup.source, options),
    timeWithin(start, from, to),
  );
  return sql`select ${dialect.epochMs(start)} as at, ${rollup.label} as label, ${rollup.count} as count,
    ${rollup.confidenceSum} as confidence_sum from ${rollup} where ${where}`;
}

function resultRows(
  { results: t }: TaskStatsTables,
  dialect: TimeDialect,
  options: TaskStatsOptions,
  from: number | undefined,
  to: number | undefined,
): SQL {
  const where = and(
    ownedBy(t.owner, options.owner),
    eq(t.task, options.task),
    sourceIn(t.source, options),
    eq(t.kind, 'classify'),
    options.conversationId === undefined ? undefined : eq(t.conversationId, options.conversationId),
    timeWithin(t.createdAt, from, to),
  );
  return sql`select ${dialect.epochMs(t.createdAt)} as at, ${t.label} as label, 1 as count,
    ${t.confidence} as confidence_sum from ${t} where ${where}`;
}

/** [from, to) on a timestamp column; the bounds go through the column's own mapping (epoch ms or timestamptz). */
function timeWithin(column: Column, from: number | undefined, to: number | undefined): SQL | undefined {
  return and(
    from === undefined ? undefined : gte(column, new Date(from)),
    to === undefined ? undefined : lt(column, new Date(to)),
  );
}

/**
 * Naming every source even when unfiltered keeps `source` an equality in the index, so the time after it is still
 * a range scan rather than a filter.
 */
function sourceIn(column: Column, options: { source?: string | undefined }): SQL {
  return inArray(column, options.source === undefined ? [...RESULT_SOURCES] : [options.source]);
}
