// SQLite: job items claimed under leases, leases renewed and given back, and claimed items' outcomes stored with their
// results through the same path as every other result.
import { and, asc, eq, exists, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
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
import { isOtherLiveProcess } from '../leaseOwner.js';
import { jobItemContext } from '../rowValues.js';
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { writeTaskResultsOfTexts } from './results.js';
import { analysisItems, analysisJobs } from './schema.js';

const items = analysisItems;
const jobs = analysisJobs;

export function claimAnalysisItems(app: SqliteDatabase, options: ClaimAnalysisItemsOptions): ClaimedItem[] {
  const now = new Date();
  // One writer at a time (IMMEDIATE): nothing can claim the same items between the read and the lease.
  return app.write((tx) => {
    const working = tx
      .select({ id: jobs.id, owner: jobs.owner, lastClaimedAt: jobs.lastClaimedAt })
      .from(jobs)
      .where(inArray(jobs.status, [...WORKING_JOB_STATUSES]))
      .all();
    const claimable = tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(inArray(jobs.status, [...WORKING_JOB_STATUSES]), exists(claimableItemOf(tx, now))))
      .all();
    const [job] = claimOrder(working, new Set(claimable.map(({ id }) => id)));
    if (!job || options.limit <= 0) return [];
    const claimed = tx
      .select({ id: items.id, text: items.text, seq: items.seq })
      .from(items)
      .where(and(eq(items.jobId, job.id), eq(items.status, 'pending'), leaseFree(now)))
      .orderBy(asc(items.seq))
      .limit(options.limit)
      .all();
    const updated = tx
      .update(jobs)
      .set(claimedJobSet(jobs, claimInstant(working, now)))
      .where(eq(jobs.id, job.id))
      .returning({ owner: jobs.owner, tasks: jobs.tasks })
      .get()!;
    const leaseUntil = new Date(now.getTime() + options.leaseMs);
    for (const ids of boundChunks(claimed.map((item) => item.id), 1)) {
      tx.update(items)
        .set({ leaseOwner: options.worker, leaseUntil, attempts: sql`${items.attempts} + 1` })
        .where(inArray(items.id, ids))
        .run();
    }
    const tasks = JSON.parse(updated.tasks) as string[];
    return claimed.map((item) => ({ ...item, jobId: job.id, owner: updated.owner, tasks }));
  });
}

export function renewAnalysisLeases(
  app: SqliteDatabase,
  worker: string,
  itemIds: readonly string[],
  leaseMs: number,
): string[] {
  const leaseUntil = new Date(Date.now() + leaseMs);
  const kept = new Set<string>();
  app.write((tx) => {
    for (const ids of boundChunks([...itemIds], 1)) {
      const renewed = tx
        .update(items)
        .set({ leaseUntil })
        .where(and(inArray(items.id, ids), heldBy(worker), inWorkingJob()))
        .returning({ id: items.id })
        .all();
      for (const { id } of renewed) kept.add(id);
    }
  });
  return itemIds.filter((id) => !kept.has(id));
}

export function releaseAnalysisItems(app: SqliteDatabase, worker: string, itemIds: readonly string[]): void {
  app.write((tx) => {
    for (const ids of boundChunks([...itemIds], 1)) {
      tx.update(items)
        .set({ leaseOwner: null, leaseUntil: null })
        .where(and(inArray(items.id, ids), heldBy(worker)))
        .run();
    }
  });
}

/**
 * Gives back the leases of holders that are gone. Only for opening the file: a restart after kill -9 resumes its
 * items at once instead of waiting for the leases to run out, while another process on this host still working on
 * the file (a service, beside which `analyze-file` opens it) keeps what it holds (see `isOtherLiveProcess`). Were a
 * holder wrongly taken for gone, it would lose nothing but time: its outcomes for those items are dropped (they are
 * no longer held) and the items run again, never twice stored.
 */
export function releaseLeasesOfGoneHolders(tx: DbExecutor): void {
  const holders = tx.selectDistinct({ owner: items.leaseOwner }).from(items).where(isNotNull(items.leaseOwner)).all();
  const gone = holders.flatMap(({ owner }) => (owner === null || isOtherLiveProcess(owner) ? [] : [owner]));
  for (const chunk of boundChunks(gone, 1)) {
    tx.update(items).set({ leaseOwner: null, leaseUntil: null }).where(inArray(items.leaseOwner, chunk)).run();
  }
}

export function completeAnalysisItems(app: SqliteDatabase, worker: string, outcomes: readonly ItemOutcome[]): string[] {
  if (outcomes.length === 0) return [];
  const now = new Date();
  return app.write((tx) => {
    const held: { id: string; jobId: string }[] = [];
    for (const ids of boundChunks([...new Set(outcomes.map((outcome) => outcome.itemId))], 1)) {
      held.push(
        ...tx
          .select({ id: items.id, jobId: items.jobId })
          .from(items)
          .where(and(inArray(items.id, ids), heldBy(worker), inWorkingJob()))
          .all(),
      );
    }
    const stored = new Set<string>();
    const finished = { leaseOwner: null, leaseUntil: null, finishedAt: now };
    for (const { jobId, succeeded, failed } of outcomesByJob(held, outcomes)) {
      const job = tx
        .update(jobs)
        .set(completedJobSet(jobs, { processed: succeeded.length + failed.length, failed: failed.length }, now))
        .where(eq(jobs.id, jobId))
        .returning({ owner: jobs.owner })
        .get()!;
      const texts = succeeded.map(({ itemId, results }) => ({
        results,
        context: jobItemContext(job.owner, jobId, itemId, now),
      }));
      writeTaskResultsOfTexts(app, tx, texts);
      for (const ids of boundChunks(succeeded.map(({ itemId }) => itemId), 1)) {
        tx.update(items).set({ ...finished, status: 'done' }).where(inArray(items.id, ids)).run();
      }
      for (const { itemId, error } of failed) {
        tx.update(items)
          .set({ ...finished, status: 'failed', errorCode: error.code, errorMessage: error.message })
          .where(eq(items.id, itemId))
          .run();
      }
      for (const { itemId } of [...succeeded, ...failed]) stored.add(itemId);
    }
    return inGivenOrder(outcomes, stored);
  });
}

// Correlated with the outer query's job (a WHERE renders its columns qualified, select fields would not).
function claimableItemOf(tx: DbExecutor, now: Date) {
  return tx
    .select({ one: sql`1` })
    .from(items)
    .where(and(eq(items.jobId, jobs.id), eq(items.status, 'pending'), leaseFree(now)));
}

/** Pending items no live lease holds (never claimed, given back, or their lease ran out). */
function leaseFree(now: Date) {
  return or(isNull(items.leaseUntil), lte(items.leaseUntil, now));
}

function heldBy(worker: string) {
  return and(eq(items.leaseOwner, worker), eq(items.status, 'pending'));
}

function inWorkingJob() {
  const working = inArray(jobs.status, [...WORKING_JOB_STATUSES]);
  return sql`${items.jobId} in (select ${jobs.id} from ${jobs} where ${working})`;
}

