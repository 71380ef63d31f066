// SQLite: sentiment and task results, each stored in the same transaction as its hourly roll-up.
import { inArray } from 'drizzle-orm';
import type { NewQuerySentiment, NewSentiment, NewTaskResult, QueryAnalysis, QueryAnalysisInput } from '../Repository.js';
import type { SentimentRow, TaskResultRow } from '../rows.js';
import {
  addedToHour,
  groupByMessage,
  isClassification,
  queryContext,
  sentimentHourlyIncrement,
  sentimentValues,
  taskHourlyIncrement,
  taskResultValues,
  type ResultContext,
} from '../rowValues.js';
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { sentimentHourlyCounts, sentiments, taskHourlyCounts, taskResults } from './schema.js';

/** Inserts one sentiment and counts it in its hour; runs inside the caller's transaction. */
export function writeSentiment(tx: DbExecutor, sentiment: NewSentiment, context: ResultContext): SentimentRow {
  const row = tx.insert(sentiments).values(sentimentValues(sentiment, context)).returning().get();
  const t = sentimentHourlyCounts;
  tx.insert(t)
    .values(sentimentHourlyIncrement(row))
    .onConflictDoUpdate({
      target: [t.ownerKey, t.source, t.hourStart],
      set: addedToHour(t, ['positive', 'negative', 'neutral', 'confidenceSum']),
    })
    .run();
  return row;
}

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

export function insertQuerySentiments(app: SqliteDatabase, records: readonly NewQuerySentiment[]): SentimentRow[] {
  if (records.length === 0) return [];
  const now = new Date();
  return app.write((tx) =>
    records.map((record) => writeSentiment(tx, record, queryContext(record.owner, record.text, record.createdAt ?? now))),
  );
}

export function insertQueryAnalysis(app: SqliteDatabase, input: QueryAnalysisInput): QueryAnalysis {
  const context = queryContext(input.owner, input.text, new Date());
  return app.write((tx) => ({
    sentiment: input.sentiment ? writeSentiment(tx, input.sentiment, context) : null,
    taskResults: input.taskResults.map((result) => writeTaskResult(tx, result, context)),
  }));
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
