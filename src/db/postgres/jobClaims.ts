// PostgreSQL: job items claimed under leases by every replica at once (FOR UPDATE SKIP LOCKED), leases renewed and
// given back, and claimed items' outcomes stored with their results through the same path as every other result.
import { and, asc, eq, exists, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { ClaimAnalysisItemsOptions, ClaimedItem, ItemOutcome } from '../AnalysisJobStore.js';
import {
  WORKING_JOB_STATUSES,
  claimInstant,
  claimOrder,
  claimedJobSet,
  completedJobSet,
  inGivenOrder,
  outcomesByJob,
} from '../analysisJobRules.js';
import { boundChunks } from '../analysisJobValues.js';
import { jobItemContext } from '../rowValues.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { writeTaskResultsOfTexts } from './results.js';
import { analysisItems, analysisJobs } from './schema.js';

const items = analysisItems;
const jobs = analysisJobs;

// Leases are measured on the database's clock, the one clock every replica shares. A replica that dies leaves its
// leases to run out; a restart waits for that too (other replicas may still hold theirs, so none is given back).
const NOW = sql`now()`;
const leaseEnd = (leaseMs: number) => sql`now() + ${leaseMs} * interval '1 millisecond'`;

export async function claimAnalysisItems(
  pg: PostgresDatabase,
  options: ClaimAnalysisItemsOptions,
): Promise<ClaimedItem[]> {
  if (options.limit <= 0) return [];
  return pg.write(async (tx) => {
    const working = await tx
      .select({ id: jobs.id, owner: jobs.owner, lastClaimedAt: jobs.lastClaimedAt })
      .from(jobs)
      .where(inArray(jobs.status, [...WORKING_JOB_STATUSES]));
    const claimable = await tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(inArray(jobs.status, [...WORKING_JOB_STATUSES]), exists(claimableItemOf(tx))));
    // In turn order; a job whose free items another replica locked meanwhile yields to the next.
    for (const job of claimOrder(working, new Set(claimable.map(({ id }) => id)))) {
      const claimed = await tx
        .select({ id: items.id, text: items.text, seq: items.seq })
        .from(items)
        .where(and(eq(items.jobId, job.id), eq(items.status, 'pending'), leaseFree()))
        .orderBy(asc(items.seq))
        .limit(options.limit)
        .for('update', { skipLocked: true });
      if (claimed.length === 0) continue;
      const [updated] = await tx
        .update(jobs)
        .set(claimedJobSet(jobs, claimInstant(working, new Date())))
        .where(and(eq(jobs.id, job.id), inArray(jobs.status, [...WORKING_JOB_STATUSES])))
        .returning({ owner: jobs.owner, tasks: jobs.tasks });
      // Cancelled or failed since it was read: its items stay unclaimed.
      if (!updated) continue;
      for (const ids of boundChunks(claimed.map((item) => item.id), 1)) {
        await tx
          .update(items)
          .set({
            leaseOwner: options.worker,
            leaseUntil: leaseEnd(options.leaseMs),
            attempts: sql`${items.attempts} + 1`,
          })
          .where(inArray(items.id, ids));
      }
      const tasks = JSON.parse(updated.tasks) as string[];
      return claimed.map((item) => ({ ...item, jobId: job.id, owner: updated.owner, tasks }));
    }
    return [];
  });
}

export async function renewAnalysisLeases(
  pg: PostgresDatabase,
  worker: string,
  itemIds: readonly string[],
  leaseMs: number,
): Promise<string[]> {
  const kept = new Set<string>();
  await pg.write(async (tx) => {
    for (const ids of boundChunks([...itemIds], 1)) {
      const renewed = await tx
        .update(items)
        .set({ leaseUntil: leaseEnd(leaseMs) })
        .where(and(inArray(items.id, ids), heldBy(worker), inWorkingJob()))
        .returning({ id: items.id });
      for (const { id } of renewed) kept.add(id);
    }
  });
  return itemIds.filter((id) => !kept.has(id));
}

export async function releaseAnalysisItems(
  pg: PostgresDatabase,
  worker: string,
  itemIds: readonly string[],
): Promise<void> {
  await pg.write(async (tx) => {
    for (const ids of boundChunks([...itemIds], 1)) {
      await tx
        .update(items)
        .set({ leaseOwner: null, leaseUntil: null })
        .where(and(inArray(items.id, ids), heldBy(worker)));
    }
  });
}

/**
 * The items are locked first (in id order, so two completions never deadlock), then each job's row by its counter
 * update, which also re-checks that the job is still working: a cancel committed meanwhile drops its outcomes.
 */
export async function completeAnalysisItems(
  pg: PostgresDatabase,
  worker: string,
  outcomes: readonly ItemOutcome[],
): Promise<string[]> {
  if (outcomes.length === 0) return [];
  const now = new Date();
  return pg.write(async (tx) => {
    const held: { id: string; jobId: string }[] = [];
    for (const ids of boundChunks([...new Set(outcomes.map((outcome) => outcome.itemId))], 1)) {
      held.push(
        ...(await tx
          .select({ id: items.id, jobId: items.jobId })
          .from(items)
          .where(and(inArray(items.id, ids), heldBy(worker), inWorkingJob()))
          .orderBy(asc(items.id))
          .for('update', { of: items })),
      );
    }
    const stored = new Set<string>();
    const finished = { leaseOwner: null, leaseUntil: null, finishedAt: now };
    for (const { jobId, succeeded, failed } of outcomesByJob(held, outcomes)) {
      const [job] = await tx
        .update(jobs)
        .set(completedJobSet(jobs, { processed: succeeded.length + failed.length, failed: failed.length }, now))
        .where(and(eq(jobs.id, jobId), inArray(jobs.status, [...WORKING_JOB_STATUSES])))
        .returning({ owner: jobs.owner });
      if (!job) continue;
      const texts = succeeded.map(({ itemId, results }) => ({
        results,
        context: jobItemContext(job.owner, jobId, itemId, now),
      }));
      await writeTaskResultsOfTexts(tx, texts);
      for (const ids of boundChunks(succeeded.map(({ itemId }) => itemId), 1)) {
        await tx.update(items).set({ ...finished, status: 'done' }).where(inArray(items.id, ids));
      }
      for (const { itemId, error } of failed) {
        await tx
          .update(items)
          .set({ ...finished, status: 'failed', errorCode: error.code, errorMessage: error.message })
          .where(eq(items.id, itemId));
      }
      for (const { itemId } of [...succeeded, ...failed]) stored.add(itemId);
    }
    return inGivenOrder(outcomes, stored);
  });
}

// Correlated with the outer query's job (a WHERE renders its columns qualified, select fields would not).
function claimableItemOf(tx: PgExecutor) {
  return tx
    .select({ one: sql`1` })
    .from(items)
    .where(and(eq(items.jobId, jobs.id), eq(items.status, 'pending'), leaseFree()));
}

/** Pending items no live lease holds (never claimed, given back, or their lease ran out). */
function leaseFree() {
  return or(isNull(items.leaseUntil), lte(items.leaseUntil, NOW));
}

function heldBy(worker: string) {
  return and(eq(items.leaseOwner, worker), eq(items.status, 'pending'));
}

function inWorkingJob() {
  const working = inArray(jobs.status, [...WORKING_JOB_STATUSES]);
  return sql`${items.jobId} in (select ${jobs.id} from ${jobs} where ${working})`;
}
