// The rows both dialects store and hand back for analysis jobs: new rows, stored rows as the seam's shapes, and
// multi-row statements cut to the drivers' bound-parameter limit.
import type {
  AnalysisItemRow,
  AnalysisJobRow,
  AnalysisJobStatus,
  CreateAnalysisJobInput,
  ItemError,
  NewAnalysisItem,
  Tag,
} from './AnalysisJobStore.js';
import { newId } from './ids.js';
import type { TaskResultRow } from './rows.js';

// SQLite's default limit (since 3.32; PostgreSQL allows 65,535): a 1,000-item call passes it in one statement.
const MAX_BOUND_PARAMETERS = 32_766;

/** A job's row as stored (both dialects' column names and types, with times as dates). */
export interface StoredJob {
  id: string;
  owner: string | null;
  name: string | null;
  tasks: string;
  status: AnalysisJobStatus;
  total: number;
  processed: number;
  failed: number;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  queuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastClaimedAt: Date | null;
}

/** An item's row as stored. */
export interface StoredItem {
  id: string;
  jobId: string;
  seq: number;
  externalId: string | null;
  text: string;
  tags: string;
  status: AnalysisItemRow['status'];
  errorCode: string | null;
  errorMessage: string | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  attempts: number;
  finishedAt: Date | null;
}

export function newJobValues(input: CreateAnalysisJobInput, now: Date): StoredJob {
  return {
    id: newId(now.getTime()),
    owner: input.owner,
    name: input.name,
    tasks: JSON.stringify(input.tasks),
    status: 'open',
    total: 0,
    processed: 0,
    failed: 0,
    errorCode: null,
    errorMessage: null,
    createdAt: now,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    lastClaimedAt: null,
  };
}

export function toJobRow(stored: StoredJob): AnalysisJobRow {
  return {
    id: stored.id,
    owner: stored.owner,
    name: stored.name,
    tasks: JSON.parse(stored.tasks) as string[],
    status: stored.status,
    total: stored.total,
    processed: stored.processed,
    failed: stored.failed,
    error: errorOf(stored),
    createdAt: stored.createdAt,
    queuedAt: stored.queuedAt,
    startedAt: stored.startedAt,
    finishedAt: stored.finishedAt,
  };
}

/** An item with its results, put in the job's task order. */
export function toItemRow(
  stored: StoredItem,
  results: readonly TaskResultRow[],
  tasks: readonly string[],
): AnalysisItemRow {
  const position = (task: string) => {
    const index = tasks.indexOf(task);
    return index === -1 ? tasks.length : index;
  };
  return {
    id: stored.id,
    jobId: stored.jobId,
    seq: stored.seq,
    externalId: stored.externalId,
    text: stored.text,
    tags: JSON.parse(stored.tags) as Tag[],
    status: stored.status,
    error: errorOf(stored),
    taskResults: [...results].sort((a, b) => position(a.task) - position(b.task)),
    finishedAt: stored.finishedAt,
  };
}

function errorOf(stored: { errorCode: string | null; errorMessage: string | null }): ItemError | null {
  return stored.errorCode === null ? null : { code: stored.errorCode, message: stored.errorMessage ?? '' };
}

export interface NewItemRows {
  items: StoredItem[];
  tags: { jobId: string; itemId: string; key: string; value: string }[];
  /** How many were stored failed at once (they count as processed). */
  failed: number;
}

/** Rows for items appended after the job's `total` items: seq continues from there. */
export function newItemRows(jobId: string, total: number, items: readonly NewAnalysisItem[], now: Date): NewItemRows {
  const rows: NewItemRows = { items: [], tags: [], failed: 0 };
  items.forEach((item, index) => {
    const id = newId(now.getTime());
    const failed = item.error !== undefined;
    if (failed) rows.failed += 1;
    rows.items.push({
      id,
      jobId,
      seq: total + index + 1,
      externalId: item.externalId,
      text: item.text,
      tags: JSON.stringify(item.tags.map(({ key, value }) => ({ key, value }))),
      status: failed ? 'failed' : 'pending',
      errorCode: item.error?.code ?? null,
      errorMessage: item.error?.message ?? null,
      leaseOwner: null,
      leaseUntil: null,
      attempts: 0,
      finishedAt: failed ? now : null,
    });
    for (const { key, value } of item.tags) rows.tags.push({ jobId, itemId: id, key, value });
  });
  return rows;
}

/** `rows` cut into runs that one multi-row INSERT of `columns` columns each (or an `in` list, 1) can bind. */
export function boundChunks<T>(rows: readonly T[], columns: number): T[][] {
  // Room for the few other parameters a statement binds beside the rows.
  const size = Math.max(1, Math.floor((MAX_BOUND_PARAMETERS - 16) / columns));
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += size) chunks.push(rows.slice(start, start + size));
  return chunks;
}
