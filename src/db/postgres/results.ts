// PostgreSQL: sentiment and task results, each stored in the same transaction as its hourly roll-up.
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
import { throwMapped } from './conversations.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { sentimentHourlyCounts, sentiments, taskHourlyCounts, taskResults } from './schema.js';

export async function writeSentiment(
  tx: PgExecutor,
  sentiment: NewSentiment,
  context: ResultContext,
): Promise<SentimentRow> {
  const [row] = await tx.insert(sentiments).values(sentimentValues(sentiment, context)).returning();
  const t = sentimentHourlyCounts;
  // An upsert is atomic in PostgreSQL: replicas adding to the same hour at once both count.
  await tx
    .insert(t)
    .values(sentimentHourlyIncrement(row!))
    .onConflictDoUpdate({
      target: [t.ownerKey, t.source, t.hourStart],
      set: addedToHour(t, ['positive', 'negative', 'neutral', 'confidenceSum']),
    });
  return row!;
}

export async function writeTaskResult(
  tx: PgExecutor,
  result: NewTaskResult,
  context: ResultContext,
): Promise<TaskResultRow> {
  const [row] = await tx.insert(taskResults).values(taskResultValues(result, context)).returning();
  if (isClassification(row!)) {
    const t = taskHourlyCounts;
    await tx
      .insert(t)
      .values(taskHourlyIncrement(row))
      .onConflictDoUpdate({
        target: [t.ownerKey, t.task, t.source, t.hourStart, t.label],
        set: addedToHour(t, ['count', 'confidenceSum']),
      });
  }
  return row!;
}

export async function insertQuerySentiments(
  pg: PostgresDatabase,
  records: readonly NewQuerySentiment[],
): Promise<SentimentRow[]> {
  if (records.length === 0) return [];
  const now = new Date();
  return pg.write(async (tx) => {
    const rows: SentimentRow[] = [];
    // One after another: a transaction is one connection, which runs one statement at a time anyway.
    for (const record of records) {
      rows.push(await writeSentiment(tx, record, queryContext(record.owner, record.text, record.createdAt ?? now)));
    }
    return rows;
  });
}

export async function insertQueryAnalysis(pg: PostgresDatabase, input: QueryAnalysisInput): Promise<QueryAnalysis> {
  const context = queryContext(input.owner, input.text, new Date());
  return pg.write(async (tx) => {
    const sentiment = input.sentiment ? await writeSentiment(tx, input.sentiment, context) : null;
    return { sentiment, taskResults: await writeTaskResults(tx, input.taskResults, context) };
  });
}

/** Several results of one text, stored in the order given. */
export async function writeTaskResults(
  tx: PgExecutor,
  results: readonly NewTaskResult[],
  context: ResultContext,
): Promise<TaskResultRow[]> {
  const rows: TaskResultRow[] = [];
  for (const result of results) rows.push(await writeTaskResult(tx, result, context));
  return rows;
}

export async function listTaskResultsOfMessages(
  pg: PostgresDatabase,
  messageIds: readonly string[],
): Promise<Map<string, TaskResultRow[]>> {
  if (messageIds.length === 0) return new Map();
  const rows = await pg.db
    .select()
    .from(taskResults)
    .where(inArray(taskResults.messageId, [...messageIds]))
    .orderBy(taskResults.id)
    .catch(throwMapped(pg));
  return groupByMessage(rows);
}
