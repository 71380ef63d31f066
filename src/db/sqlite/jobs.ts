// SQLite: analysis jobs created, read, listed and moved through their statuses; their items added (idempotent by
// external id) and listed with their results.
import { and, asc, count, desc, eq, getTableColumns, gt, inArray, lt } from 'drizzle-orm';
import type {
  AddAnalysisItemsInput,
  AddAnalysisItemsOutcome,
  AnalysisItemRow,
  AnalysisJobPage,
  AnalysisJobRow,
  CreateAnalysisJobInput,
  CreateAnalysisJobOutcome,
  ItemError,
  JobTransition,
  ListAnalysisItemsOptions,
  ListAnalysisJobsOptions,
} from '../AnalysisJobStore.js';
import {
  ACTIVE_JOB_STATUSES,
  WORKING_JOB_STATUSES,
  cancelChange,
  externalIdsOf,
  failChange,
  planAddItems,
  startChange,
} from '../analysisJobRules.js';
import { boundChunks, newJobValues, toItemRow, toJobRow, type StoredJob } from '../analysisJobValues.js';
import { ownedBy } from '../owner.js';
import type { TaskResultRow } from '../rows.js';
import { pageSizeOf } from '../rowValues.js';
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { analysisItemTags, analysisItems, analysisJobs, taskResults } from './schema.js';

const ITEM_COLUMNS = Object.keys(getTableColumns(analysisItems)).length;
const TAG_COLUMNS = Object.keys(getTableColumns(analysisItemTags)).length;

/** Counted and inserted in one IMMEDIATE transaction: no other write comes between. */
export function createAnalysisJob(app: SqliteDatabase, input: CreateAnalysisJobInput): CreateAnalysisJobOutcome {
  const values = newJobValues(input, new Date());
  return app.write((tx) => {
    const active = activeJobsOf(tx, input.owner);
    if (active >= input.maxActive) return { outcome: 'too-many', active };
    tx.insert(analysisJobs).values(values).run();
    return { outcome: 'created', job: toJobRow(values) };
  });
}

export function getAnalysisJob(app: SqliteDatabase, id: string, owner: string | null): AnalysisJobRow | null {
  const job = app.read((db) => ownedJob(db, id, owner));
  return job ? toJobRow(job) : null;
}

export function listAnalysisJobs(app: SqliteDatabase, options: ListAnalysisJobsOptions): AnalysisJobPage {
  const pageSize = pageSizeOf(options.first);
  const after = options.after ?? null;
  const name = options.name ?? null;
  const rows = app.read((db) =>
    db
      .select()
      .from(analysisJobs)
      .where(
        and(
          ownedBy(analysisJobs.owner, options.owner),
          name === null ? undefined : eq(analysisJobs.name, name),
          after === null ? undefined : lt(analysisJobs.id, after),
        ),
      )
      .orderBy(desc(analysisJobs.id))
      .limit(pageSize + 1)
      .all(),
  );
  const items = rows.slice(0, pageSize).map(toJobRow);
  return { items, hasNextPage: rows.length > pageSize, endCursor: items.at(-1)?.id ?? null };
}

export function countActiveAnalysisJobs(app: SqliteDatabase, owner: string | null): number {
  return app.read((db) => activeJobsOf(db, owner));
}

function activeJobsOf(db: DbExecutor, owner: string | null): number {
  const [row] = db
    .select({ count: count() })
    .from(analysisJobs)
    .where(and(ownedBy(analysisJobs.owner, owner), inArray(analysisJobs.status, [...ACTIVE_JOB_STATUSES])))
    .all();
  return row?.count ?? 0;
}

export function addAnalysisItems(app: SqliteDatabase, input: AddAnalysisItemsInput): AddAnalysisItemsOutcome {
  const now = new Date();
  return app.write((tx) => {
    const job = ownedJob(tx, input.jobId, input.owner);
    if (!job) return { outcome: 'not-found' };
    const known = new Set<string>();
    for (const ids of boundChunks(externalIdsOf(input.items), 1)) {
      const rows = tx
        .select({ externalId: analysisItems.externalId })
        .from(analysisItems)
        .where(and(eq(analysisItems.jobId, job.id), inArray(analysisItems.externalId, ids)))
        .all();
      for (const row of rows) known.add(row.externalId!);
    }
    const plan = planAddItems(job, known, input, now);
    if (!plan.write) return plan.outcome;
    const { items, tags } = plan.rows;
    for (const chunk of boundChunks(items, ITEM_COLUMNS)) tx.insert(analysisItems).values(chunk).run();
    for (const chunk of boundChunks(tags, TAG_COLUMNS)) tx.insert(analysisItemTags).values(chunk).run();
    const updated = tx.update(analysisJobs).set(plan.counters).where(eq(analysisJobs.id, job.id)).returning().get()!;
    return { outcome: 'added', job: toJobRow(updated), added: plan.added, skipped: plan.skipped };
  });
}

export function startAnalysisJob(app: SqliteDatabase, id: string, owner: string | null): JobTransition {
  return transition(app, id, owner, startChange);
}

export function cancelAnalysisJob(app: SqliteDatabase, id: string, owner: string | null): JobTransition {
  return transition(app, id, owner, cancelChange);
}

export function failAnalysisJob(app: SqliteDatabase, id: string, error: ItemError): void {
  app.write((tx) =>
    tx
      .update(analysisJobs)
      .set(failChange(error, new Date()))
      .where(and(eq(analysisJobs.id, id), inArray(analysisJobs.status, [...WORKING_JOB_STATUSES])))
      .run(),
  );
}

export function listAnalysisItems(app: SqliteDatabase, options: ListAnalysisItemsOptions): AnalysisItemRow[] {
  return app.read((db) =>
    db.transaction((tx) => {
      const job = tx
        .select({ tasks: analysisJobs.tasks })
        .from(analysisJobs)
        .where(eq(analysisJobs.id, options.jobId))
        .get();
      if (!job) return [];
      const items = tx
        .select()
        .from(analysisItems)
        .where(and(eq(analysisItems.jobId, options.jobId), gt(analysisItems.seq, options.afterSeq ?? 0)))
        .orderBy(asc(analysisItems.seq))
        .limit(Math.max(0, options.first))
        .all();
      const results = new Map<string, TaskResultRow[]>();
      for (const ids of boundChunks(items.map((item) => item.id), 1)) {
        for (const row of tx.select().from(taskResults).where(inArray(taskResults.itemId, ids)).all()) {
          results.set(row.itemId!, [...(results.get(row.itemId!) ?? []), row]);
        }
      }
      const tasks = JSON.parse(job.tasks) as string[];
      return items.map((item) => toItemRow(item, results.get(item.id) ?? [], tasks));
    }),
  );
}

export function listAnalysisTagKeys(app: SqliteDatabase, jobId: string): string[] {
  const rows = app.read((db) =>
    db
      .selectDistinct({ key: analysisItemTags.key })
      .from(analysisItemTags)
      .where(eq(analysisItemTags.jobId, jobId))
      .orderBy(asc(analysisItemTags.key))
      .all(),
  );
  return rows.map((row) => row.key);
}

function transition(
  app: SqliteDatabase,
  id: string,
  owner: string | null,
  change: (job: StoredJob, now: Date) => Partial<StoredJob> | undefined,
): JobTransition {
  return app.write((tx) => {
    const job = ownedJob(tx, id, owner);
    if (!job) return null;
    const values = change(job, new Date());
    if (!values) return { job: toJobRow(job), changed: false };
    const updated = tx.update(analysisJobs).set(values).where(eq(analysisJobs.id, id)).returning().get()!;
    return { job: toJobRow(updated), changed: true };
  });
}

function ownedJob(db: DbExecutor, id: string, owner: string | null): StoredJob | undefined {
  return db
    .select()
    .from(analysisJobs)
    .where(and(eq(analysisJobs.id, id), ownedBy(analysisJobs.owner, owner)))
    .get();
}
