// Task results (every task but sentiment): stored with their hourly roll-up, read back per message.
import { inArray, sql } from 'drizzle-orm';
import type { AppDatabase, DbExecutor } from './client.js';
import { HOUR_MS } from './hourlyCounts.js';
import { newId } from './ids.js';
import { ownerKey } from './owner.js';
import { taskHourlyCounts, taskResults } from './schema.js';
import { writeSentiment, type NewSentiment, type SentimentRow } from './sentiments.js';

export type TaskResultRow = typeof taskResults.$inferSelect;
export type TaskResultSource = TaskResultRow['source'];

/** One task's result as the engine reports it, before it belongs to a message or a query. */
export type NewTaskResult =
  | {
      task: string;
      kind: 'classify';
      locale: 'zh' | 'en';
      label: string;
      confidence: number;
      scores: Record<string, number>;
      latencyMs: number;
    }
  | { task: string; kind: 'extract'; locale: 'zh' | 'en'; value: unknown; latencyMs: number };

type TaskResultContext = Pick<TaskResultRow, 'source' | 'owner' | 'conversationId' | 'messageId' | 'text' | 'createdAt'>;

/** Inserts one result and counts a classification in the roll-up; runs inside the caller's transaction. */
export function writeTaskResult(tx: DbExecutor, result: NewTaskResult, context: TaskResultContext): TaskResultRow {
  const row = tx
    .insert(taskResults)
    .values({
      id: newId(context.createdAt.getTime()),
      ...context,
      task: result.task,
      kind: result.kind,
      locale: result.locale,
      latencyMs: result.latencyMs,
      ...(result.kind === 'classify'
        ? { label: result.label, confidence: result.confidence, scores: JSON.stringify(result.scores) }
        : { value: JSON.stringify(result.value) }),
    })
    .returning()
    .get();
  if (result.kind === 'classify') addToTaskHourlyCounts(tx, row);
  return row;
}

function addToTaskHourlyCounts(tx: DbExecutor, row: TaskResultRow): void {
  const at = row.createdAt.getTime();
  const t = taskHourlyCounts;
  tx.insert(t)
    .values({
      ownerKey: ownerKey(row.owner),
      task: row.task,
      source: row.source,
      label: row.label!,
      hourStart: at - (at % HOUR_MS),
      count: 1,
      confidenceSum: row.confidence!,
    })
    .onConflictDoUpdate({
      target: [t.ownerKey, t.task, t.source, t.hourStart, t.label],
      set: { count: sql`${t.count} + 1`, confidenceSum: sql`${t.confidenceSum} + excluded.confidence_sum` },
    })
    .run();
}

/** The results stored for these messages, grouped by message, in the order they were stored. */
export function listTaskResultsOfMessages(app: AppDatabase, messageIds: readonly string[]): Map<string, TaskResultRow[]> {
  const byMessage = new Map<string, TaskResultRow[]>();
  if (messageIds.length === 0) return byMessage;
  const rows = app.read((db) =>
    db
      .select()
      .from(taskResults)
      .where(inArray(taskResults.messageId, [...messageIds]))
      .orderBy(taskResults.id)
      .all(),
  );
  for (const row of rows) {
    const list = byMessage.get(row.messageId!) ?? [];
    list.push(row);
    byMessage.set(row.messageId!, list);
  }
  return byMessage;
}

/**
 * Stores what `analyze`, `classify` or `extract` found in one text, in one transaction: the sentiment (if it was one
 * of the tasks) in the sentiments table, the other results here, all with the text kept (source QUERY).
 */
export function insertQueryAnalysis(
  app: AppDatabase,
  input: { owner: string | null; text: string; sentiment?: NewSentiment; taskResults: readonly NewTaskResult[] },
): { sentiment: SentimentRow | null; taskResults: TaskResultRow[] } {
  const createdAt = new Date();
  const context = {
    source: 'query' as const,
    owner: input.owner,
    conversationId: null,
    messageId: null,
    text: input.text,
    createdAt,
  };
  return app.write((tx) => ({
    sentiment: input.sentiment ? writeSentiment(tx, input.sentiment, context) : null,
    taskResults: input.taskResults.map((result) => writeTaskResult(tx, result, context)),
  }));
}
