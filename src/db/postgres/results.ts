// PostgreSQL: task results (sentiment's included), each stored in the same transaction as its hourly roll-up.
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
import { throwMapped } from './conversations.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { taskHourlyCounts, taskResults } from './schema.js';

export async function writeTaskResult(
  tx: PgExecutor,
  result: NewTaskResult,
  context: ResultContext,
): Promise<TaskResultRow> {
  const [row] = await tx.insert(taskResults).values(taskResultValues(result, context)).returning();
  if (isClassification(row!)) {
    // An upsert is atomic in PostgreSQL: replicas adding to the same hour at once both count.
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

export async function insertQueryAnalyses(
  pg: PostgresDatabase,
  inputs: readonly QueryAnalysisInput[],
): Promise<QueryAnalysis[]> {
  if (inputs.length === 0) return [];
  const now = new Date();
  return pg.write(async (tx) => {
    const analyses: QueryAnalysis[] = [];
    // One after another: a transaction is one connection, which runs one statement at a time anyway.
    for (const input of inputs) {
      const context = queryContext(input.owner, input.text, input.createdAt ?? now);
      analyses.push({ taskResults: await writeTaskResults(tx, input.taskResults, context) });
    }
    return analyses;
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
