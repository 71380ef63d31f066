// Sends a file's items to an open job in chunks the API accepts (≤ 1,000 items, well under its request-body limit).
import type { ColumnChoice, FileItem } from './fileItems.js';
import type { InputFormat } from './fileRows.js';
import type { JobOperations, JobSnapshot } from './jobOperations.js';
import { fileItems } from './scanInputFile.js';

/** The API's MAX_JOB_ITEMS_PER_CALL default. */
const CHUNK_ITEMS = 1000;
/** A chunk's items' JSON stays under this: with one item at most MAX_ITEM_BYTES, a request stays under MAX_BODY_BYTES' 1 MiB. */
const CHUNK_BYTES = 512 * 1024;

export interface UploadOptions {
  file: string;
  format: InputFormat;
  choice: ColumnChoice;
  /** After each chunk: rows sent so far. */
  onChunk?: (rowsSent: number) => void;
}

/**
 * Sends every row, in file order, whatever the job already holds: items are idempotent by externalId, so a chunk the
 * job has (an upload interrupted and run again) adds nothing, and no row can be missed. Resolves with the job after.
 */
export async function uploadItems(operations: JobOperations, job: JobSnapshot, options: UploadOptions): Promise<JobSnapshot> {
  let chunk: FileItem[] = [];
  let chunkBytes = 0;
  let rowsSent = 0;
  let after = job;
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    after = await operations.addItems(job.id, chunk);
    rowsSent += chunk.length;
    chunk = [];
    chunkBytes = 0;
    options.onChunk?.(rowsSent);
  };
  for await (const { item } of fileItems(options.file, options.format, options.choice)) {
    const bytes = Buffer.byteLength(JSON.stringify(item));
    if (chunk.length === CHUNK_ITEMS || chunkBytes + bytes > CHUNK_BYTES) await flush();
    chunk.push(item);
    chunkBytes += bytes;
  }
  await flush();
  return after;
}
