// PostgreSQL: analysis jobs created, read, listed and moved through their statuses (the job row locked while it
// changes); their items added (idempotent by external id) and listed with their results.
import { and, asc, count, desc, eq, getTableColumns, gt, inArray, lt, sql } from 'drizzle-orm';
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
import { throwMapped } from './conversations.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { analysisItemTags, analysisItems, analysisJobs, taskResults } from './schema.js';

const ITEM_COLUMNS = Object.keys(getTableColumns(analysisItems)).length;
const TAG_COLUMNS = Object.keys(getTableColumns(analysisItemTags)).length;

/**
 * Two-key advisory locks, apart from the migrations' one-key lock and the conversations' namespace: one owner's job
 * creations take turns across replicas (a hash collision only makes two owners take turns).
 */
const JOB_CREATION_NAMESPACE = 0x41_49_4f_4a; // "AIOJ"

/** Under the owner's transaction-scoped advisory lock: counting and inserting, no other creation of theirs between. */
export async function createAnalysisJob(
  pg: PostgresDatabase,
  input: CreateAnalysisJobInput,
): Promise<CreateAnalysisJobOutcome> {
  const values = newJobValues(input, new Date());
  return pg.write(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${JOB_CREATION_NAMESPACE}, hashtext(${input.owner ?? ''}))`);
    const active = await activeJobsOf(tx, input.owner);
    if (active >= input.maxActive) return { outcome: 'too-many', active };
    await tx.insert(analysisJobs).values(values);
    return { outcome: 'created', job: toJobRow(values) };
  });
}

export async function getAnalysisJob(
  pg: PostgresDatabase,
  id: string,
  owner: string | null,
): Promise<AnalysisJobRow | null> {
  const [job] = await pg.db.select().from(analysisJobs).where(owned(id, owner)).catch(throwMapped(pg));
  return job ? toJobRow(job) : null;
}

export async function listAnalysisJobs(
  pg: PostgresDatabase,
  options: ListAnalysisJobsOptions,
): Promise<AnalysisJobPage> {
  const pageSize = pageSizeOf(options.first);
  const after = options.after ?? null;
  const name = options.name ?? null;
  const rows = await pg.db
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
    .catch(throwMapped(pg));
  const items = rows.slice(0, pageSize).map(toJobRow);
  return { items, hasNextPage: rows.length > pageSize, endCursor: items.at(-1)?.id ?? null };
}

export async function countActiveAnalysisJobs(pg: PostgresDatabase, owner: string | null): Promise<number> {
  return activeJobsOf(pg.db, owner).catch(throwMapped(pg));
}

async function activeJobsOf(db: PgExecutor, owner: string | null): Promise<number> {
  const [row] = await db
    .select({ count: count() })
    .from(analysisJobs)
    .where(and(ownedBy(analysisJobs.owner, owner), inArray(analysisJobs.status, [...ACTIVE_JOB_STATUSES])));
  return row?.count ?? 0;
}

/** Under the job row's lock: two calls adding to one job (a client's retry racing its first try) take turns. */
export async function addAnalysisItems(
  pg: PostgresDatabase,
  input: AddAnalysisItemsInput,
): Promise<AddAnalysisItemsOutcome> {
  const now = new Date();
  return pg.write(async (tx) => {
    const job = await lockedJob(tx, input.jobId, input.owner);
    if (!job) return { outcome: 'not-found' };
    const known = new Set<string>();
    for (const ids of boundChunks(externalIdsOf(input.items), 1)) {
      const rows = await tx
        .select({ externalId: analysisItems.externalId })
        .from(analysisItems)
        .where(and(eq(analysisItems.jobId, job.id), inArray(analysisItems.externalId, ids)));
      for (const row of rows) known.add(row.externalId!);
    }
    const plan = planAddItems(job, known, input, now);
    if (!plan.write) return plan.outcome;
    const { items, tags } = plan.rows;
    for (const chunk of boundChunks(items, ITEM_COLUMNS)) await tx.insert(analysisItems).values(chunk);
    for (const chunk of boundChunks(tags, TAG_COLUMNS)) await tx.insert(analysisItemTags).values(chunk);
    const [updated] = await tx.update(analysisJobs).set(plan.counters).where(eq(analysisJobs.id, job.id)).returning();
    return { outcome: 'added', job: toJobRow(updated!), added: plan.added, skipped: plan.skipped };
  });
}

export function startAnalysisJob(pg: PostgresDatabase, id: string, owner: string | null): Promise<JobTransition> {
  return transition(pg, id, owner, startChange);
}

export function cancelAnalysisJob(pg: PostgresDatabase, id: string, owner: string | null): Promise<JobTransition> {
  return transition(pg, id, owner, cancelChange);
}

export async function failAnalysisJob(pg: PostgresDatabase, id: string, error: ItemError): Promise<void> {
  await pg.write((tx) =>
    tx
      .update(analysisJobs)
      .set(failChange(error, new Date()))
      .where(and(eq(analysisJobs.id, id), inArray(analysisJobs.status, [...WORKING_JOB_STATUSES]))),
  );
}

/** One snapshot: the items and their results agree even while a worker stores outcomes. */
export async function listAnalysisItems(
  pg: PostgresDatabase,
  options: ListAnalysisItemsOptions,
): Promise<AnalysisItemRow[]> {
  return pg.read(async (tx) => {
    const [job] = await tx
      .select({ tasks: analysisJobs.tasks })
      .from(analysisJobs)
      .where(eq(analysisJobs.id, options.jobId));
    if (!job) return [];
    const items = await tx
      .select()
      .from(analysisItems)
      .where(and(eq(analysisItems.jobId, options.jobId), gt(analysisItems.seq, options.afterSeq ?? 0)))
      .orderBy(asc(analysisItems.seq))
      .limit(Math.max(0, options.first));
    const results = new Map<string, TaskResultRow[]>();
    for (const ids of boundChunks(items.map((item) => item.id), 1)) {
      for (const row of await tx.select().from(taskResults).where(inArray(taskResults.itemId, ids))) {
        results.set(row.itemId!, [...(results.get(row.itemId!) ?? []), row]);
      }
    }
    const tasks = JSON.parse(job.tasks) as string[];
    return items.map((item) => toItemRow(item, results.get(item.id) ?? [], tasks));
  });
}

export async function listAnalysisTagKeys(pg: PostgresDatabase, jobId: string): Promise<string[]> {
  const rows = await pg.db
    .selectDistinct({ key: analysisItemTags.key })
    .from(analysisItemTags)
    .where(eq(analysisItemTags.jobId, jobId))
    .orderBy(asc(analysisItemTags.key))
    .catch(throwMapped(pg));
  return rows.map((row) => row.key);
}

async function transition(
  pg: PostgresDatabase,
  id: string,
  owner: string | null,
  change: (job: StoredJob, now: Date) => Partial<StoredJob> | undefined,
): Promise<JobTransition> {
  return pg.write(async (tx) => {
    const job = await lockedJob(tx, id, owner);
    if (!job) return null;
    const values = change(job, new Date());
    if (!values) return { job: toJobRow(job), changed: false };
    const [updated] = await tx.update(analysisJobs).set(values).where(eq(analysisJobs.id, id)).returning();
    return { job: toJobRow(updated!), changed: true };
  });
}

async function lockedJob(tx: PgExecutor, id: string, owner: string | null): Promise<StoredJob | undefined> {
  const [job] = await tx.select().from(analysisJobs).where(owned(id, owner)).for('update');
  return job;
}

function owned(id: string, owner: string | null) {
  return and(eq(analysisJobs.id, id), ownedBy(analysisJobs.owner, owner));
}
