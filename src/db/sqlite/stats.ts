// SQLite: taskStats (one shared statement, so one snapshot); roll-up repair.
import { sql } from 'drizzle-orm';
import type { TaskStats, TaskStatsOptions } from '../Repository.js';
import { taskStatsQuery, toTaskStats, type TaskBucketRow } from '../stats/taskStatsQuery.js';
import { rebuildRollupStatements } from '../stats/rebuildRollups.js';
import { DAY_MS, HOUR_MS, type TimeDialect } from '../stats/timeRanges.js';
import type { SqliteDatabase } from './openSqlite.js';
import { analysisItemTags, taskDailyCounts, taskHourlyCounts, taskResults } from './schema.js';

// Timestamps are integer epoch ms already; months are calendar months, so they need the date functions.
export const SQLITE_TIME: TimeDialect = {
  epochMs: (column) => sql`${column}`,
  monthStart: sql.raw(`unixepoch(at / 1000, 'unixepoch', 'start of month') * 1000`),
  hourOf: (column) => sql`${column} - ${column} % ${HOUR_MS}`,
  dayOf: (column) => sql`${column} - ${column} % ${DAY_MS}`,
};

const TABLES = { results: taskResults, hourly: taskHourlyCounts, daily: taskDailyCounts, itemTags: analysisItemTags };

export function taskStats(app: SqliteDatabase, options: TaskStatsOptions): TaskStats {
  const query = taskStatsQuery(TABLES, SQLITE_TIME, options);
  return toTaskStats(app.read((db) => db.all<TaskBucketRow>(query)), options.groupByTag !== undefined);
}

export function rebuildHourlyCounts(app: SqliteDatabase): void {
  const statements = rebuildRollupStatements(TABLES, SQLITE_TIME);
  app.write((tx) => {
    for (const statement of statements) tx.run(statement);
  });
}
