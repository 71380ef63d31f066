// What `analyze-file` does with a file it has read (scanInputFile), whichever service it talks to: find or create the
// file's job, upload, start, follow its progress, and write the results file.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CodedError } from '../CodedError.js';
import type { ColumnChoice } from './fileItems.js';
import type { InputFormat } from './fileRows.js';
import { jobNameOf } from './jobName.js';
import { TERMINAL_STATUSES, type JobOperations, type JobSnapshot } from './jobOperations.js';
import type { InputFileScan } from './scanInputFile.js';
import { ServiceError } from './serviceClient.js';
import { uploadItems } from './uploadItems.js';

/** How often the job is asked for its progress; the service updates its counters about once a second. */
const POLL_INTERVAL_MS = 1000;

/** The job ended without results to write: cancelled (by someone else), or failed as a whole. */
export class JobEndedError extends CodedError {
  readonly code: 'JOB_CANCELLED' | 'JOB_FAILED';

  constructor(job: JobSnapshot) {
    const reason = job.error ? `: ${job.error.message} (${job.error.code})` : '';
    super({ message: `job ${job.id} ${job.status === 'CANCELLED' ? 'was cancelled' : `failed${reason}`}` });
    this.code = job.status === 'CANCELLED' ? 'JOB_CANCELLED' : 'JOB_FAILED';
  }
}

export interface AnalyzeFileOptions {
  file: string;
  /** The file as scanInputFile read it (refusals are over by then; its hash names the job). */
  scan: InputFileScan;
  format: InputFormat;
  choice: ColumnChoice;
  tasks: readonly string[];
  /** The readable part of the job's name (see jobNameOf). */
  label: string;
  /** Where the results go; `.jsonl` (or `.ndjson`) gets JSONL, anything else CSV. */
  out: string;
  resultsFormat: 'csv' | 'jsonl';
}

/** What happens, as it happens (the command draws progress bars and lines from these). */
export interface AnalyzeFileEvents {
  /** The job this run works on: found by name (`resumed`) or new. */
  job?(job: JobSnapshot, resumed: boolean): void;
  uploaded?(rowsSent: number, rows: number): void;
  progress?(job: JobSnapshot): void;
}

export interface AnalyzeFileOutcome {
  job: JobSnapshot;
  resumed: boolean;
}

export async function analyzeFile(
  operations: JobOperations,
  options: AnalyzeFileOptions,
  events: AnalyzeFileEvents = {},
  signal?: AbortSignal,
): Promise<AnalyzeFileOutcome> {
  const { file, format, choice, tasks, scan } = options;

  const name = jobNameOf({ label: options.label, sha256: scan.sha256, format, choice, tasks });
  // Newest first; a cancelled or failed job of this name cannot be resumed, so a new one is made beside it.
  const found = (await operations.jobsNamed(name)).find((job) => job.status !== 'CANCELLED' && job.status !== 'FAILED');
  let job = found ?? (await operations.create(name, tasks));
  events.job?.(job, found !== undefined);

  if (job.status === 'OPEN') {
    job = await uploadItems(operations, job, {
      file,
      format,
      choice,
      onChunk: (rowsSent) => {
        events.uploaded?.(rowsSent, scan.rows);
        signal?.throwIfAborted();
      },
    });
    job = await operations.start(job.id);
  }
  job = await followJob(operations, job, events, signal);
  if (job.status !== 'DONE') throw new JobEndedError(job);
  await writeResults(operations, job.id, options.out, options.resultsFormat);
  return { job, resumed: found !== undefined };
}

/** Polls the job until it reaches a terminal status, reporting every snapshot. */
async function followJob(
  operations: JobOperations,
  first: JobSnapshot,
  events: AnalyzeFileEvents,
  signal?: AbortSignal,
): Promise<JobSnapshot> {
  let job = first;
  events.progress?.(job);
  while (!TERMINAL_STATUSES.includes(job.status)) {
    await sleep(POLL_INTERVAL_MS, undefined, signal ? { signal } : {});
    const next = await operations.job(job.id);
    if (next === null) {
      throw new ServiceError({ code: 'NOT_FOUND', message: `job ${job.id} is gone (deleted, or not this key's)` });
    }
    job = next;
    events.progress?.(job);
  }
  return job;
}

/** Streams the results file to `out` through a temporary file beside it, so `out` is never left half written. */
async function writeResults(operations: JobOperations, jobId: string, out: string, format: 'csv' | 'jsonl'): Promise<void> {
  const response = await operations.results(jobId, format);
  const partial = path.join(path.dirname(out), `.${path.basename(out)}.partial`);
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(partial));
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
