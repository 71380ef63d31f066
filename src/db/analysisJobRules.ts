// What analysis-job operations decide, the same in both dialects: which items a call adds (or why none), how a status
// changes, whose turn a claim is, what a claim and a completion set on the job. The dialects read and lock the rows,
// then apply what these say.
import { sql, type Column, type SQL } from 'drizzle-orm';
import type {
  AddAnalysisItemsInput,
  AddAnalysisItemsOutcome,
  AnalysisJobStatus,
  ItemError,
  ItemOutcome,
  NewAnalysisItem,
} from './AnalysisJobStore.js';
import type { NewTaskResult } from './Repository.js';
import { newItemRows, toJobRow, type NewItemRows, type StoredJob } from './analysisJobValues.js';

/** Statuses in which a job's items are worked on: claims, outcomes and lease renewals only touch these. */
export const WORKING_JOB_STATUSES = ['queued', 'running'] as const satisfies readonly AnalysisJobStatus[];
/** Statuses that count against the per-key limit of jobs at once. */
export const ACTIVE_JOB_STATUSES = ['open', 'queued', 'running'] as const satisfies readonly AnalysisJobStatus[];

/** What an add does to a job found open or not: an outcome without writes, or the rows and counters to write. */
export type AddPlan =
  | { write: false; outcome: AddAnalysisItemsOutcome }
  | {
      write: true;
      rows: NewItemRows;
      counters: Pick<StoredJob, 'total' | 'processed' | 'failed'>;
      added: number;
      skipped: number;
    };

/** Decides an add on the job as read under the transaction's lock, given the call's external ids it already has. */
export function planAddItems(
  job: StoredJob,
  known: ReadonlySet<string>,
  input: AddAnalysisItemsInput,
  now: Date,
): AddPlan {
  if (job.status !== 'open') return { write: false, outcome: { outcome: 'not-open', job: toJobRow(job) } };
  const { fresh, skipped } = newItemsOf(input.items, known);
  const wouldHave = job.total + fresh.length;
  if (wouldHave > input.maxItems) {
    return { write: false, outcome: { outcome: 'too-many', job: toJobRow(job), wouldHave } };
  }
  const rows = newItemRows(job.id, job.total, fresh, now);
  return {
    write: true,
    rows,
    counters: { total: wouldHave, processed: job.processed + rows.failed, failed: job.failed + rows.failed },
    added: fresh.length,
    skipped,
  };
}

/**
 * The items of a call that are new to the job: those whose external id the job has (`known`) or that repeat one
 * earlier in the call are skipped. Items without an external id are always new.
 */
function newItemsOf(
  items: readonly NewAnalysisItem[],
  known: ReadonlySet<string>,
): { fresh: NewAnalysisItem[]; skipped: number } {
  const seen = new Set(known);
  const fresh: NewAnalysisItem[] = [];
  for (const item of items) {
    if (item.externalId !== null) {
      if (seen.has(item.externalId)) continue;
      seen.add(item.externalId);
    }
    fresh.push(item);
  }
  return { fresh, skipped: items.length - fresh.length };
}

/** The external ids a call names, to look up among the job's items. */
export function externalIdsOf(items: readonly NewAnalysisItem[]): string[] {
  return [...new Set(items.flatMap((item) => (item.externalId === null ? [] : [item.externalId])))];
}

/** open → queued; a job with nothing left to run (empty, or every item failed at once) → done. Else no change. */
export function startChange(job: StoredJob, now: Date): Partial<StoredJob> | undefined {
  if (job.status !== 'open') return undefined;
  return job.processed === job.total
    ? { status: 'done', queuedAt: now, finishedAt: now }
    : { status: 'queued', queuedAt: now };
}

/** open, queued or running → cancelled. Else no change. */
export function cancelChange(job: StoredJob, now: Date): Partial<StoredJob> | undefined {
  if (job.status !== 'open' && job.status !== 'queued' && job.status !== 'running') return undefined;
  return { status: 'cancelled', finishedAt: now };
}

/** queued or running → failed with the reason. */
export function failChange(error: ItemError, now: Date): Partial<StoredJob> {
  return { status: 'failed', errorCode: error.code, errorMessage: error.message, finishedAt: now };
}

/** A queued or running job as the claim sees it. */
export interface ClaimCandidate {
  id: string;
  owner: string | null;
  lastClaimedAt: Date | null;
}

/**
 * The jobs among `candidates` (every queued and running job) with an item to claim (`claimable`), in turn order:
 * first the owner whose jobs were claimed from longest ago (never before all), then, within an owner, the job claimed
 * from longest ago (never before all; older jobs first). An owner's last claim is the latest over all its queued and
 * running jobs, so a new job does not jump its owner ahead of the others.
 */
export function claimOrder(candidates: readonly ClaimCandidate[], claimable: ReadonlySet<string>): ClaimCandidate[] {
  const ownerLast = new Map<string | null, number>();
  for (const job of candidates) {
    const at = job.lastClaimedAt?.getTime() ?? -Infinity;
    ownerLast.set(job.owner, Math.max(ownerLast.get(job.owner) ?? -Infinity, at));
  }
  const last = (job: ClaimCandidate) => job.lastClaimedAt?.getTime() ?? -Infinity;
  return candidates
    .filter((job) => claimable.has(job.id))
    .sort(
      (a, b) =>
        ownerLast.get(a.owner)! - ownerLast.get(b.owner)! ||
        compareNullable(a.owner, b.owner) ||
        last(a) - last(b) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
}

/**
 * When this claim happened, for the turn order: now, or just after the latest claim when that is not earlier (claims
 * within one millisecond still take turns).
 */
export function claimInstant(candidates: readonly ClaimCandidate[], now: Date): Date {
  const latest = Math.max(-Infinity, ...candidates.map((job) => job.lastClaimedAt?.getTime() ?? -Infinity));
  return new Date(Math.max(now.getTime(), latest + 1));
}

// Keeps one owner's jobs together when two owners were last claimed at the same instant.
function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}


type JobColumns = Record<
  'status' | 'total' | 'processed' | 'failed' | 'startedAt' | 'finishedAt' | 'lastClaimedAt',
  Column
>;

/** What a claim sets on its job (either dialect's table): running, started at its first claim, claimed at `at`. */
export function claimedJobSet(t: JobColumns, at: Date): Record<'status' | 'startedAt' | 'lastClaimedAt', SQL> {
  return {
    status: sql`'running'`,
    startedAt: sql`coalesce(${t.startedAt}, ${sql.param(at, t.startedAt)})`,
    lastClaimedAt: sql`${sql.param(at, t.lastClaimedAt)}`,
  };
}

/**
 * What stored outcomes add to their job's counters, in one UPDATE (the row's values before it): the job is done, at
 * `now`, once every item is processed.
 */
export function completedJobSet(
  t: JobColumns,
  outcomes: { processed: number; failed: number },
  now: Date,
): Record<'processed' | 'failed' | 'status' | 'finishedAt', SQL> {
  const allDone = sql`${t.processed} + ${outcomes.processed} >= ${t.total}`;
  return {
    processed: sql`${t.processed} + ${outcomes.processed}`,
    failed: sql`${t.failed} + ${outcomes.failed}`,
    status: sql`case when ${allDone} then 'done' else ${t.status} end`,
    finishedAt: sql`case when ${allDone} then ${sql.param(now, t.finishedAt)} else ${t.finishedAt} end`,
  };
}

/** One job's share of a completion: the outcomes of the items the worker still holds in it. */
export interface JobOutcomes {
  jobId: string;
  succeeded: { itemId: string; results: readonly NewTaskResult[] }[];
  failed: { itemId: string; error: ItemError }[];
}

/**
 * The outcomes of `held` items (those the worker still holds in a working job), grouped by job; an item given twice
 * counts once (its last outcome). Outcomes of items not held are left out: they are dropped.
 */
export function outcomesByJob(
  held: readonly { id: string; jobId: string }[],
  outcomes: readonly ItemOutcome[],
): JobOutcomes[] {
  const latest = new Map(outcomes.map((outcome) => [outcome.itemId, outcome]));
  const byJob = new Map<string, JobOutcomes>();
  for (const { id, jobId } of held) {
    const outcome = latest.get(id);
    if (outcome === undefined) continue;
    let group = byJob.get(jobId);
    if (!group) byJob.set(jobId, (group = { jobId, succeeded: [], failed: [] }));
    if ('error' in outcome) group.failed.push({ itemId: id, error: outcome.error });
    else group.succeeded.push({ itemId: id, results: outcome.results });
  }
  return [...byJob.values()];
}

/** The stored item ids in the order their outcomes were given. */
export function inGivenOrder(outcomes: readonly ItemOutcome[], stored: ReadonlySet<string>): string[] {
  return [...new Set(outcomes.map((outcome) => outcome.itemId))].filter((id) => stored.has(id));
}
