// SQLite: task results (sentiment's included), each stored in the same transaction as its hourly and daily roll-ups.
import { inArray } from 'drizzle-orm';
import type { NewTaskResult, QueryAnalysis, QueryAnalysisInput } from '../Repository.js';
import type { TaskResultRow } from '../rows.js';
import {
  addedToRollup,
  groupByMessage,
  queryContext,
  rollupIncrements,
  taskResultValues,
  type ResultContext,
} from '../rowValues.js';
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { taskDailyCounts, taskHourlyCounts, taskResults } from './schema.js';

/**
 * Stores built result rows and counts their classifications, in one INSERT and one upsert per roll-up (one row per
 * key); runs inside the caller's transaction.
 */
function storeTaskResults(tx: DbExecutor, rows: readonly TaskResultRow[]): void {
  if (rows.length === 0) return;
  // The rows as built are the rows stored (every column given, no default), so nothing needs reading back.
  tx.insert(taskResults).values([...rows]).run();
  const { hourly, daily } = rollupIncrements(rows);
  if (hourly.length === 0) return;
  const h = taskHourlyCounts;
  tx.insert(h)
    .values(hourly.map(({ start, ...increment }) => ({ ...increment, hourStart: start })))
    .onConflictDoUpdate({
      target: [h.ownerKey, h.task, h.source, h.hourStart, h.label],
      set: addedToRollup(h, ['count', 'confidenceSum']),
    })
    .run();
  const d = taskDailyCounts;
  tx.insert(d)
    .values(daily.map(({ start, ...increment }) => ({ ...increment, dayStart: start })))
    .onConflictDoUpdate({
      target: [d.ownerKey, d.task, d.source, d.dayStart, d.label],
      set: addedToRollup(d, ['count', 'confidenceSum']),
    })
    .run();
}

/** Results of one text, stored in the order given and counted; runs inside the caller's transaction. */
export function writeTaskResults(
  tx: DbExecutor,
  results: readonly NewTaskResult[],
  context: ResultContext,
): TaskResultRow[] {
  const rows = results.map((result) => taskResultValues(result, context));
  storeTaskResults(tx, rows);
  return rows;
}

export function insertQueryAnalyses(app: SqliteDatabase, inputs: readonly QueryAnalysisInput[]): QueryAnalysis[] {
  if (inputs.length === 0) return [];
  const now = new Date();
  const analyses = inputs.map((input) => {
    const context = queryContext(input.owner, input.text, input.createdAt ?? now);
    return { taskResults: input.taskResults.map((result) => taskResultValues(result, context)) };
  });
  app.write((tx) => storeTaskResults(tx, analyses.flatMap((analysis) => analysis.taskResults)));
  return analyses;
}

export function listTaskResultsOfMessages(app: SqliteDatabase, messageIds: readonly string[]): Map<string, TaskResultRow[]> {
  if (messageIds.length === 0) return new Map();
  const rows = app.read((db) =>
    db
      .select()
      .from(taskResults)
      .where(inArray(taskResults.messageId, [...messageIds]))
      .orderBy(taskResults.id)
      .all(),
  );
  return groupByMessage(rows);
}
