// SQLite: task results (sentiment's included), each stored in the same transaction as its hourly and daily roll-ups.
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
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { taskDailyCounts, taskHourlyCounts, taskResults } from './schema.js';

/**
 * Stores built result rows and counts their classifications: one INSERT, then one upsert per roll-up key (prepared
 * once per database: building and compiling an upsert anew costs more than running it). Runs inside the caller's
 * transaction, on the connection the statements were prepared on.
 */
function storeTaskResults(app: SqliteDatabase, tx: DbExecutor, rows: readonly TaskResultRow[]): void {
  if (rows.length === 0) return;
  // The rows as built are the rows stored (every column given, no default), so nothing needs reading back.
  tx.insert(taskResults).values([...rows]).run();
  const { hourly, daily } = rollupIncrements(rows);
  const upserts = rollupUpserts(app);
  for (const increment of hourly) upserts.hourly.run(increment);
  for (const increment of daily) upserts.daily.run(increment);
}

type RollupUpserts = ReturnType<typeof prepareRollupUpserts>;
const preparedUpserts = new WeakMap<SqliteDatabase, RollupUpserts>();

function rollupUpserts(app: SqliteDatabase): RollupUpserts {
  let upserts = preparedUpserts.get(app);
  if (upserts === undefined) {
    upserts = prepareRollupUpserts(app);
    preparedUpserts.set(app, upserts);
  }
  return upserts;
}

// Each takes a RollupIncrement's fields as its placeholders (a type alias, so it passes as their record).
function prepareRollupUpserts({ db }: SqliteDatabase) {
  const key = {
    ownerKey: sql.placeholder('ownerKey'),
    task: sql.placeholder('task'),
    source: sql.placeholder('source'),
    label: sql.placeholder('label'),
    count: sql.placeholder('count'),
    confidenceSum: sql.placeholder('confidenceSum'),
  };
  const h = taskHourlyCounts;
  const d = taskDailyCounts;
  return {
    hourly: db
      .insert(h)
      .values({ ...key, hourStart: sql.placeholder('start') })
      .onConflictDoUpdate({
        target: [h.ownerKey, h.task, h.source, h.hourStart, h.label],
        set: addedToRollup(h, ['count', 'confidenceSum']),
      })
      .prepare(),
    daily: db
      .insert(d)
      .values({ ...key, dayStart: sql.placeholder('start') })
      .onConflictDoUpdate({
        target: [d.ownerKey, d.task, d.source, d.dayStart, d.label],
        set: addedToRollup(d, ['count', 'confidenceSum']),
      })
      .prepare(),
  };
}

/** Results of one text, stored in the order given and counted; runs inside the caller's transaction. */
export function writeTaskResults(
  app: SqliteDatabase,
  tx: DbExecutor,
  results: readonly NewTaskResult[],
  context: ResultContext,
): TaskResultRow[] {
  const rows = results.map((result) => taskResultValues(result, context));
  storeTaskResults(app, tx, rows);
  return rows;
}

/**
 * Results of several texts (a batch of job items: each its own context), stored and counted together; runs inside the
 * caller's transaction.
 */
export function writeTaskResultsOfTexts(
  app: SqliteDatabase,
  tx: DbExecutor,
  texts: readonly { results: readonly NewTaskResult[]; context: ResultContext }[],
): void {
  storeTaskResults(
    app,
    tx,
    texts.flatMap(({ results, context }) => results.map((result) => taskResultValues(result, context))),
  );
}

export function insertQueryAnalyses(app: SqliteDatabase, inputs: readonly QueryAnalysisInput[]): QueryAnalysis[] {
  if (inputs.length === 0) return [];
  const now = new Date();
  const analyses = inputs.map((input) => {
    const context = queryContext(input.owner, input.text, input.createdAt ?? now);
    return { taskResults: input.taskResults.map((result) => taskResultValues(result, context)) };
  });
  app.write((tx) => storeTaskResults(app, tx, analyses.flatMap((analysis) => analysis.taskResults)));
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
