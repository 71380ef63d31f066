// SQLite: sentimentStats and taskStats (one shared statement each, so one snapshot); roll-up repair.
import { sql } from 'drizzle-orm';
import type { SentimentStats, SentimentStatsOptions, TaskStats, TaskStatsOptions } from '../Repository.js';
import { sentimentStatsQuery, toSentimentStats, type SentimentBucketRow } from '../stats/sentimentStatsQuery.js';
import { taskStatsQuery, toTaskStats, type TaskBucketRow } from '../stats/taskStatsQuery.js';
import { rebuildRollupStatements } from '../stats/rebuildRollups.js';
import { HOUR_MS, type TimeDialect } from '../stats/timeRanges.js';
import type { SqliteDatabase } from './openSqlite.js';
import { sentimentHourlyCounts, sentiments, taskHourlyCounts, taskResults } from './schema.js';

// Timestamps are integer epoch ms already; months are calendar months, so they need the date functions.
const SQLITE_TIME: TimeDialect = {
  epochMs: (column) => sql`${column}`,
  monthStart: sql.raw(`unixepoch(at / 1000, 'unixepoch', 'start of month') * 1000`),
  hourOf: (column) => sql`${column} - ${column} % ${HOUR_MS}`,
};

export function sentimentStats(app: SqliteDatabase, options: SentimentStatsOptions): SentimentStats {
  const query = sentimentStatsQuery({ sentiments, hourly: sentimentHourlyCounts }, SQLITE_TIME, options);
  return toSentimentStats(app.read((db) => db.all<SentimentBucketRow>(query)));
}

export function taskStats(app: SqliteDatabase, options: TaskStatsOptions): TaskStats {
  const query = taskStatsQuery({ results: taskResults, hourly: taskHourlyCounts }, SQLITE_TIME, options);
  return toTaskStats(app.read((db) => db.all<TaskBucketRow>(query)));
}

export function rebuildHourlyCounts(app: SqliteDatabase): void {
  const statements = rebuildRollupStatements(
    { sentiments, hourly: sentimentHourlyCounts },
    { results: taskResults, hourly: taskHourlyCounts },
    SQLITE_TIME,
  );
  app.write((tx) => {
    for (const statement of statements) tx.run(statement);
  });
}
