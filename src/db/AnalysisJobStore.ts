// The storage seam of analysis jobs (a batch of texts, each with its own external id and tags, run through tasks in
// the background and shared by every replica): what each dialect does, with the same answers.
import type { NewTaskResult } from './Repository.js';
import type { TaskResultRow } from './rows.js';

export const ANALYSIS_JOB_STATUSES = ['open', 'queued', 'running', 'done', 'cancelled', 'failed'] as const;
export const ANALYSIS_ITEM_STATUSES = ['pending', 'done', 'failed'] as const;
export type AnalysisJobStatus = (typeof ANALYSIS_JOB_STATUSES)[number];
export type AnalysisItemStatus = (typeof ANALYSIS_ITEM_STATUSES)[number];

export interface Tag {
  key: string;
  value: string;
}

/** Why an item (or a whole job) failed: a stable code (the API's error codes) and a sentence for people. */
export interface ItemError {
  code: string;
  message: string;
}

export interface AnalysisJobRow {
  id: string;
  /** API-key fingerprint, or null when auth is off. */
  owner: string | null;
  name: string | null;
  /** Task names, in the order every item runs them. */
  tasks: string[];
  status: AnalysisJobStatus;
  /** Items added. */
  total: number;
  /** Items finished, failed ones included. */
  processed: number;
  /** Items that failed. */
  failed: number;
  /** Set when the whole job failed (status `failed`). */
  error: ItemError | null;
  createdAt: Date;
  /** When `startAnalysisJob` queued it. */
  queuedAt: Date | null;
  /** When a worker first claimed an item of it. */
  startedAt: Date | null;
  /** When it reached a terminal status. */
  finishedAt: Date | null;
}

export interface NewAnalysisItem {
  text: string;
  /** Unique within the job: an item whose external id the job already has is not added again. */
  externalId: string | null;
  /** Keys unique within an item (the service refuses repeats), in the order given. */
  tags: Tag[];
  /**
   * An item that can never run (its text cannot even be stored as given): stored already failed, counted in
   * `processed` and `failed`. Its `text` is what is stored instead (the well-formed form).
   */
  error?: ItemError;
}

export interface AnalysisItemRow {
  id: string;
  jobId: string;
  /** Position in the job, from 1, in the order added; the items' cursor. */
  seq: number;
  externalId: string | null;
  text: string;
  tags: Tag[];
  status: AnalysisItemStatus;
  error: ItemError | null;
  /** The item's results in the job's task order (empty while pending or when it failed). */
  taskResults: TaskResultRow[];
  finishedAt: Date | null;
}

export interface CreateAnalysisJobInput {
  owner: string | null;
  name: string | null;
  tasks: string[];
  /**
   * `owner` may have at most this many jobs not yet ended (MAX_JOBS_PER_KEY): counted and created in one transaction,
   * so calls at once cannot pass it together.
   */
  maxActive: number;
}

export type CreateAnalysisJobOutcome =
  | { outcome: 'created'; job: AnalysisJobRow }
  | { outcome: 'too-many'; active: number };

export interface AddAnalysisItemsInput {
  jobId: string;
  owner: string | null;
  items: readonly NewAnalysisItem[];
  /** The job may hold at most this many items; a call that would pass it adds nothing. */
  maxItems: number;
}

/**
 * What adding items did: `added` (the job after it; items whose external id the job already had, or that repeat an
 * external id earlier in the same call, are skipped and counted in `skipped`), or why nothing was added.
 */
export type AddAnalysisItemsOutcome =
  | { outcome: 'added'; job: AnalysisJobRow; added: number; skipped: number }
  | { outcome: 'not-found' }
  | { outcome: 'not-open'; job: AnalysisJobRow }
  | { outcome: 'too-many'; job: AnalysisJobRow; wouldHave: number };

/** A status change asked for by the job's owner: the job after it, its status before, or null when not found. */
export type JobTransition = { job: AnalysisJobRow; changed: boolean } | null;

export interface ListAnalysisJobsOptions {
  owner: string | null;
  /** Page size, clamped to 0..MAX_PAGE_SIZE. */
  first?: number;
  after?: string | null;
  /** Only jobs of exactly this name (how a client finds the job it made before: `analyze-file` resuming). */
  name?: string | null;
}

export interface AnalysisJobPage {
  items: AnalysisJobRow[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface ListAnalysisItemsOptions {
  jobId: string;
  /** Items after this position (an item's `seq`); 0 or absent: from the first. */
  afterSeq?: number;
  /** Page size; callers clamp it (the export reads pages of a few hundred). */
  first: number;
}

export interface ClaimAnalysisItemsOptions {
  /** Who claims: one id per running process (a replica), kept on the items it holds. */
  worker: string;
  /** At most this many items, all of one job: the queued or running job whose turn it is (see the dialects). */
  limit: number;
  /** The claim lasts this long unless renewed; another worker may then take the items (this one died). */
  leaseMs: number;
}

export interface ClaimedItem {
  id: string;
  jobId: string;
  owner: string | null;
  tasks: string[];
  text: string;
  seq: number;
}

/** One claimed item's end: its results in the job's task order, or why it failed. */
export type ItemOutcome = { itemId: string; results: readonly NewTaskResult[] } | { itemId: string; error: ItemError };

export interface AnalysisJobStore {
  createAnalysisJob(input: CreateAnalysisJobInput): Promise<CreateAnalysisJobOutcome>;
  /** The job if it exists and belongs to `owner`; otherwise null. */
  getAnalysisJob(id: string, owner: string | null): Promise<AnalysisJobRow | null>;
  /** Newest first (ULID ids, the cursor). */
  listAnalysisJobs(options: ListAnalysisJobsOptions): Promise<AnalysisJobPage>;
  /** Jobs of `owner` not yet in a terminal status (open, queued, running), for the per-key limit. */
  countActiveAnalysisJobs(owner: string | null): Promise<number>;
  /** In one transaction, only while the job is open; idempotent by external id. */
  addAnalysisItems(input: AddAnalysisItemsInput): Promise<AddAnalysisItemsOutcome>;
  /** open → queued (an empty job goes straight to done); any other status: unchanged (`changed` false). */
  startAnalysisJob(id: string, owner: string | null): Promise<JobTransition>;
  /** open, queued or running → cancelled: no item is claimed after it, outcomes of claimed ones are not stored. */
  cancelAnalysisJob(id: string, owner: string | null): Promise<JobTransition>;
  /** Not owner-scoped: reach it through getAnalysisJob. Items in `seq` order, each with its results. */
  listAnalysisItems(options: ListAnalysisItemsOptions): Promise<AnalysisItemRow[]>;
  /** Distinct tag keys of a job's items, sorted (the export's columns). */
  listAnalysisTagKeys(jobId: string): Promise<string[]>;

  /**
   * Claims up to `limit` pending items not leased by a live claim (never claimed, or the lease ran out), in `seq` order,
   * from the job whose turn it is: fair across owners first, then across one owner's jobs (the one claimed from
   * longest ago). A queued job becomes running (startedAt set) at its first claim. Safe across replicas (PostgreSQL:
   * FOR UPDATE SKIP LOCKED). Empty when nothing is claimable.
   */
  claimAnalysisItems(options: ClaimAnalysisItemsOptions): Promise<ClaimedItem[]>;
  /** Extends the lease of items `worker` still holds; returns the ids it no longer holds (lost: stop working on them). */
  renewAnalysisLeases(worker: string, itemIds: readonly string[], leaseMs: number): Promise<string[]>;
  /** Gives claimed items back untouched (shutdown, engine unavailable): pending and claimable again at once. */
  releaseAnalysisItems(worker: string, itemIds: readonly string[]): Promise<void>;
  /**
   * Stores outcomes in one transaction: for each item still held by `worker` in a job still queued or running, its
   * results (source `job`, the job's owner, linked to job and item, counted in the roll-ups) or its error; the item
   * done or failed; the job's counters; the job done when nothing is left pending. Outcomes of items no longer held,
   * or of a cancelled job, are dropped. Returns the item ids stored. At most one result per item and task is ever
   * stored (a unique index enforces it too).
   */
  completeAnalysisItems(worker: string, outcomes: readonly ItemOutcome[]): Promise<string[]>;
  /** queued or running → failed with `error` (a job whose tasks no longer exist, say). */
  failAnalysisJob(id: string, error: ItemError): Promise<void>;
}
