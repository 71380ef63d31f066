// PostgreSQL: taskStats, the shared statement run in one read-only snapshot; roll-up repair.
import { sql, type SQL } from 'drizzle-orm';
import type { TaskStats, TaskStatsOptions } from '../Repository.js';
import { rebuildRollupStatements } from '../stats/rebuildRollups.js';
import { taskStatsQuery, toTaskStats, type TaskBucketRow } from '../stats/taskStatsQuery.js';
import type { TimeDialect } from '../stats/timeRanges.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { analysisItemTags, taskDailyCounts, taskHourlyCounts, taskResults } from './schema.js';

export const POSTGRES_TIME: TimeDialect = {
  // date_part is double precision (extract is numeric, several times slower per row); the cast rounds to whole ms.
  epochMs: (column) => sql`cast(date_part('epoch', ${column}) * 1000 as bigint)`,
  monthStart: sql.raw(`cast(date_part('epoch', date_trunc('month', to_timestamp(at / 1000.0), 'UTC')) * 1000 as bigint)`),
  hourOf: (column) => sql`date_trunc('hour', ${column}, 'UTC')`,
  dayOf: (column) => sql`date_trunc('day', ${column}, 'UTC')`,
};

const TABLES = { results: taskResults, hourly: taskHourlyCounts, daily: taskDailyCounts, itemTags: analysisItemTags };

export async function taskStats(pg: PostgresDatabase, options: TaskStatsOptions): Promise<TaskStats> {
  const query = taskStatsQuery(TABLES, POSTGRES_TIME, options);
  return toTaskStats(await pg.read((db) => rows<TaskBucketRow>(db, query)), options.groupByTag !== undefined);
}

export async function rebuildHourlyCounts(pg: PostgresDatabase): Promise<void> {
  const statements = rebuildRollupStatements(TABLES, POSTGRES_TIME);
  await pg.write(async (tx) => {
    for (const statement of statements) await tx.execute(statement);
  });
}

// The statement's column aliases and casts (double precision: plain numbers) make the rows this shape.
async function rows<T>(tx: PgExecutor, query: SQL): Promise<T[]> {
  return (await tx.execute(query)).rows as T[];
}
