// Statistics of a classify task: counts per label and average confidence, in total and per UTC bucket, by SQL aggregation.
import { sql, type SQL } from 'drizzle-orm';
import { BUCKET_START, rangeParts, type StatsBucket } from './analytics.js';
import type { AppDatabase } from './client.js';
import { ownedBy, ownerKey } from './owner.js';
import { taskHourlyCounts as hourly, taskResults } from './schema.js';
import type { TaskResultSource } from './taskResults.js';

export interface TaskStatsOptions {
  task: string;
  owner: string | null;
  /** Inclusive lower bound on createdAt. */
  from?: Date;
  /** Exclusive upper bound. */
  to?: Date;
  conversationId?: string;
  source?: TaskResultSource;
  bucket: StatsBucket;
}

export interface LabelCount {
  label: string;
  count: number;
}

export interface TaskStats {
  total: number;
  /** 0 when there is nothing to average. */
  averageConfidence: number;
  /** Labels that occurred, most frequent first. */
  labels: LabelCount[];
  /** Non-empty buckets, oldest first. */
  series: { start: Date; total: number; labels: LabelCount[] }[];
}

const ALL_SOURCES: readonly TaskResultSource[] = ['chat', 'query'];

/**
 * Like sentimentStats: whole hours from the roll-up, the partial hours at the edges (or a conversation's few rows)
 * from task_results, in one read transaction so the totals and the series agree.
 */
export function taskStats(app: AppDatabase, options: TaskStatsOptions): TaskStats {
  const rows = sql.join(rowSources(options), sql` union all `);
  return app.read((db) =>
    db.transaction((tx) => {
      const totals = tx.get<{ total: number | null; averageConfidence: number | null }>(
        sql`select sum(count) as total, sum(confidence_sum) / sum(count) as averageConfidence from (${rows})`,
      );
      const labels = tx.all<LabelCount>(
        sql`select label, sum(count) as count from (${rows}) group by label order by count desc, label`,
      );
      const buckets = tx.all<{ start: number; label: string; count: number }>(
        sql`select ${BUCKET_START[options.bucket]} as start, label, sum(count) as count from (${rows}) group by 1, 2 order by 1, 3 desc, 2`,
      );
      const series: TaskStats['series'] = [];
      for (const { start, label, count } of buckets) {
        let point = series.at(-1);
        if (!point || point.start.getTime() !== start) {
          point = { start: new Date(start), total: 0, labels: [] };
          series.push(point);
        }
        point.total += count;
        point.labels.push({ label, count });
      }
      return { total: totals.total ?? 0, averageConfidence: totals.averageConfidence ?? 0, labels, series };
    }),
  );
}

// Each source yields rows of (at, label, count, confidence_sum) for the union.
function rowSources(options: TaskStatsOptions): SQL[] {
  const from = options.from?.getTime();
  const to = options.to?.getTime();
  if (options.conversationId !== undefined) return [resultRows(options, from, to)];
  const { wholeHours, edges } = rangeParts(from, to);
  return [
    ...(wholeHours ? [hourlyRows(options, ...wholeHours)] : []),
    ...edges.map(([start, end]) => resultRows(options, start, end)),
  ];
}

function hourlyRows(options: TaskStatsOptions, from: number | undefined, to: number | undefined): SQL {
  return sql`select ${hourly.hourStart} as at, ${hourly.label} as label, ${hourly.count} as count,
    ${hourly.confidenceSum} as confidence_sum
    from ${hourly}
    where ${hourly.ownerKey} = ${ownerKey(options.owner)} and ${hourly.task} = ${options.task}
      and ${sourceIn(hourly.source, options.source)}
      ${from === undefined ? sql`` : sql`and ${hourly.hourStart} >= ${from}`}
      ${to === undefined ? sql`` : sql`and ${hourly.hourStart} < ${to}`}`;
}

function resultRows(options: TaskStatsOptions, from: number | undefined, to: number | undefined): SQL {
  const t = taskResults;
  return sql`select ${t.createdAt} as at, ${t.label} as label, 1 as count, ${t.confidence} as confidence_sum
    from ${t}
    where ${ownedBy(t.owner, options.owner)} and ${t.task} = ${options.task} and ${sourceIn(t.source, options.source)}
      and ${t.kind} = 'classify'
      ${options.conversationId === undefined ? sql`` : sql`and ${t.conversationId} = ${options.conversationId}`}
      ${from === undefined ? sql`` : sql`and ${t.createdAt} >= ${from}`}
      ${to === undefined ? sql`` : sql`and ${t.createdAt} < ${to}`}`;
}

// Naming every source keeps `source` an equality in the index, so the time after it is still a range scan.
function sourceIn(column: typeof taskResults.source | typeof hourly.source, source: TaskResultSource | undefined): SQL {
  const sources = source === undefined ? ALL_SOURCES : [source];
  return sql`${column} in (${sql.join(
    sources.map((value) => sql`${value}`),
    sql`, `,
  )})`;
}
