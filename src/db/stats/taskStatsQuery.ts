// taskStats (sentimentStats too) in SQL written once for every dialect: the daily roll-up's whole days, the hourly
// roll-up's whole hours around them, and the rows of the partial hours at the range's edges; or only rows, when
// filtered or grouped by what the roll-ups do not keep (a conversation, a job, tags).
import { and, eq, gte, inArray, lt, sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { ownedBy, ownerKey } from '../owner.js';
import type { LabelCount, TaskStats, TaskStatsGroup, TaskStatsOptions } from '../Repository.js';
import { RESULT_SOURCES } from '../rows.js';
import { bucketStart, rangeParts, type TimeDialect } from './timeRanges.js';

type Rollup = Table & Record<'ownerKey' | 'task' | 'source' | 'label' | 'count' | 'confidenceSum', Column>;

/** The tables taskStats reads, in whichever dialect's definitions. */
export interface TaskStatsTables {
  results: Table &
    Record<
      'owner' | 'task' | 'kind' | 'source' | 'label' | 'confidence' | 'createdAt' | 'conversationId' | 'jobId',
      Column
    > &
    Record<'itemId', Column>;
  hourly: Rollup & Record<'hourStart', Column>;
  daily: Rollup & Record<'dayStart', Column>;
  /** Job items' tags, one row per item and key. */
  itemTags: Table & Record<'itemId' | 'key' | 'value', Column>;
}

/** One row per bucket and label (and, grouped by a tag, per value of it): its count and confidence sum. */
export interface TaskBucketRow {
  start: number;
  label: string;
  /** The tag's value when grouped (null: the result's item lacks it); absent otherwise. */
  group?: string | null;
  count: number;
  confidenceSum: number;
}

/**
 * The one statement behind taskStats: a single pass over the roll-up and the edge rows, from which the totals and label
 * counts are summed (one statement is one snapshot in both dialects, so the series and the totals always agree).
 */
export function taskStatsQuery(tables: TaskStatsTables, dialect: TimeDialect, options: TaskStatsOptions): SQL {
  const rows = sql.join(rowSources(tables, dialect, options), sql` union all `);
  const start = sql`cast(${bucketStart(options.bucket, dialect)} as double precision) as start, label`;
  const sums = sql`cast(sum(count) as double precision) as count,
    cast(sum(confidence_sum) as double precision) as "confidenceSum"`;
  if (options.groupByTag !== undefined) {
    return sql`select ${start}, tag_value as "group", ${sums} from (${rows}) as counted group by 1, 2, 3 order by 1, 2`;
  }
  return sql`select ${start}, ${sums} from (${rows}) as counted group by 1, 2 order by 1, 3 desc, 2`;
}

/**
 * The statement's rows as the API's answer: one point per bucket, labels most frequent first (ties by name); with
 * `grouped`, also one group per tag value, most results first (ties by value, null last).
 */
export function toTaskStats(buckets: readonly TaskBucketRow[], grouped = false): TaskStats {
  const stats = summed(buckets);
  if (!grouped) return stats;
  const byValue = new Map<string | null, TaskBucketRow[]>();
  for (const row of buckets) {
    const value = row.group ?? null;
    byValue.set(value, [...(byValue.get(value) ?? []), row]);
  }
  const groups: TaskStatsGroup[] = [...byValue].map(([value, rows]) => {
    const { total, averageConfidence, labels } = summed(rows);
    return { value, total, averageConfidence, labels };
  });
  groups.sort((a, b) => b.total - a.total || compareValues(a.value, b.value));
  return { ...stats, groups };
}

function compareValues(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

// Rows in order of bucket start: the totals, labels and series they add up to.
function summed(buckets: readonly TaskBucketRow[]): TaskStats {
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
  // Grouped rows hold a bucket's label once per tag value: merged, and ordered as the ungrouped statement orders them.
  for (const point of series) point.labels = byFrequency(merged(point.labels));
  const labels = byFrequency([...perLabel].map(([label, count]) => ({ label, count })));
  return { total, averageConfidence: total === 0 ? 0 : confidenceSum / total, labels, series };
}

function merged(labels: readonly LabelCount[]): LabelCount[] {
  const counts = new Map<string, number>();
  for (const { label, count } of labels) counts.set(label, (counts.get(label) ?? 0) + count);
  return [...counts].map(([label, count]) => ({ label, count }));
}

/** Most frequent first, ties by name. */
function byFrequency(labels: LabelCount[]): LabelCount[] {
  return labels.sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

// Each source yields rows of (at, label, count, confidence_sum) for the union.
function rowSources(tables: TaskStatsTables, dialect: TimeDialect, options: TaskStatsOptions): SQL[] {
  const from = options.from?.getTime();
  const to = options.to?.getTime();
  // The roll-ups keep no conversation, job or tag: such counts are read from the rows.
  const rowsOnly =
    options.conversationId !== undefined ||
    options.jobId !== undefined ||
    (options.tags?.length ?? 0) > 0 ||
    options.groupByTag !== undefined;
  if (rowsOnly) return [resultRows(tables, dialect, options, from, to)];
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
  { results: t, itemTags: g }: TaskStatsTables,
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
    options.jobId === undefined ? undefined : eq(t.jobId, options.jobId),
    ...(options.tags ?? []).map(
      ({ key, value }) =>
        sql`exists (select 1 from ${g}
          where ${g.itemId} = ${t.itemId} and ${g.key} = ${key} and ${g.value} = ${value})`,
    ),
    timeWithin(t.createdAt, from, to),
  );
  const tagValue =
    options.groupByTag === undefined
      ? sql``
      : sql`, (select ${g.value} from ${g} where ${g.itemId} = ${t.itemId} and ${g.key} = ${options.groupByTag})
          as tag_value`;
  return sql`select ${dialect.epochMs(t.createdAt)} as at, ${t.label} as label, 1 as count,
    ${t.confidence} as confidence_sum${tagValue} from ${t} where ${where}`;
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
