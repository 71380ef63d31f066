// SQLite: task results (sentiment's included), each stored in the same transaction as its hourly roll-up.
import { inArray } from 'drizzle-orm';
import type { NewTaskResult, QueryAnalysis, QueryAnalysisInput } from '../Repository.js';
import type { TaskResultRow } from '../rows.js';
import {
  addedToHour,
  groupByMessage,
  isClassification,
  queryContext,
  taskHourlyIncrement,
  taskResultValues,
  type ResultContext,
} from '../rowValues.js';
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { taskHourlyCounts, taskResults } from './schema.js';

/** Inserts one task result and counts a classification in its hour; runs inside the caller's transaction. */
export function writeTaskResult(tx: DbExecutor, result: NewTaskResult, context: ResultContext): TaskResultRow {
  const row = tx.insert(taskResults).values(taskResultValues(result, context)).returning().get();
  if (isClassification(row)) {
    const t = taskHourlyCounts;
    tx.insert(t)
      .values(taskHourlyIncrement(row))
      .onConflictDoUpdate({
        target: [t.ownerKey, t.task, t.source, t.hourStart, t.label],
        set: addedToHour(t, ['count', 'confidenceSum']),
      })
      .run();
  }
  return row;
}

export function insertQueryAnalyses(app: SqliteDatabase, inputs: readonly QueryAnalysisInput[]): QueryAnalysis[] {
  if (inputs.length === 0) return [];
  const now = new Date();
  return app.write((tx) =>
    inputs.map((input) => {
      const context = queryContext(input.owner, input.text, input.createdAt ?? now);
      return { taskResults: input.taskResults.map((result) => writeTaskResult(tx, result, context)) };
    }),
  );
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
