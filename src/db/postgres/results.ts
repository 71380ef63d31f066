// PostgreSQL: task results (sentiment's included), each stored in the same transaction as its hourly and daily roll-ups.
import { inArray, sql } from 'drizzle-orm';
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
import { throwMapped } from './conversations.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { taskDailyCounts, taskHourlyCounts, taskResults } from './schema.js';

/**
 * Stores built result rows and counts their classifications in one statement (one round trip): the INSERT and a
 * multi-row upsert per roll-up (one row per key) as data-modifying WITH clauses. An upsert is atomic in PostgreSQL:
 * replicas adding to the same hour at once both count. Runs inside the caller's transaction.
 */
async function storeTaskResults(tx: PgExecutor, rows: readonly TaskResultRow[]): Promise<void> {
  if (rows.length === 0) return;
  // The rows as built are the rows stored (every column given, no default), so nothing needs reading back.
  const insert = tx.insert(taskResults).values([...rows]);
  const { hourly, daily } = rollupIncrements(rows);
  if (hourly.length === 0) {
    await insert;
    return;
  }
  const h = taskHourlyCounts;
  const hourlyUpsert = tx
    .insert(h)
    .values(hourly.map(({ start, ...increment }) => ({ ...increment, hourStart: start })))
    .onConflictDoUpdate({
      target: [h.ownerKey, h.task, h.source, h.hourStart, h.label],
      set: addedToRollup(h, ['count', 'confidenceSum']),
    });
  const d = taskDailyCounts;
  const dailyUpsert = tx
    .insert(d)
    .values(daily.map(({ start, ...increment }) => ({ ...increment, dayStart: start })))
    .onConflictDoUpdate({
      target: [d.ownerKey, d.task, d.source, d.dayStart, d.label],
      set: addedToRollup(d, ['count', 'confidenceSum']),
    });
  await tx.execute(
    sql`with stored as (${insert.getSQL()}), hourly as (${hourlyUpsert.getSQL()}) ${dailyUpsert.getSQL()}`,
  );
}

/** Several results of one text, stored in the order given and counted; runs inside the caller's transaction. */
export async function writeTaskResults(
  tx: PgExecutor,
  results: readonly NewTaskResult[],
  context: ResultContext,
): Promise<TaskResultRow[]> {
  const rows = results.map((result) => taskResultValues(result, context));
  await storeTaskResults(tx, rows);
  return rows;
}

/**
 * Results of several texts (a batch of job items: each its own context), stored and counted together; runs inside the
 * caller's transaction.
 */
export async function writeTaskResultsOfTexts(
  tx: PgExecutor,
  texts: readonly { results: readonly NewTaskResult[]; context: ResultContext }[],
): Promise<void> {
  await storeTaskResults(
    tx,
    texts.flatMap(({ results, context }) => results.map((result) => taskResultValues(result, context))),
  );
}

export async function insertQueryAnalyses(
  pg: PostgresDatabase,
  inputs: readonly QueryAnalysisInput[],
): Promise<QueryAnalysis[]> {
  if (inputs.length === 0) return [];
  const now = new Date();
  const analyses = inputs.map((input) => {
    const context = queryContext(input.owner, input.text, input.createdAt ?? now);
    return { taskResults: input.taskResults.map((result) => taskResultValues(result, context)) };
  });
  await pg.write((tx) => storeTaskResults(tx, analyses.flatMap((analysis) => analysis.taskResults)));
  return analyses;
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
