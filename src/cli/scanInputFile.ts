// The first pass over an input file, before anything is sent: refusals, the rows and bad rows counted, the content hash.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { checkColumns, itemOf, wantedColumns, type ColumnChoice, type FileItem } from './fileItems.js';
import type { InputFormat } from './fileRows.js';
import { openRows } from './inputFile.js';

/** How many bad rows are named one by one; the rest are counted. */
const NAMED_PROBLEMS = 5;

export interface InputFileScan {
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
  /** Data rows, bad ones included. */
  rows: number;
  /** Rows that go in as items that fail (see itemOf). */
  problems: number;
  /** The first few of them, as `row 7: it has 2 fields where the header has 3`. */
  namedProblems: string[];
}

/**
 * Reads the whole file once, streamed: a file that is not CSV/JSONL, lacks a named column or breaks CSV's syntax is
 * refused here (InputFileError), before any upload; the upload then reads it again (uploadItems).
 */
export async function scanInputFile(file: string, format: InputFormat, choice: ColumnChoice): Promise<InputFileScan> {
  const scan: InputFileScan = { sha256: '', rows: 0, problems: 0, namedProblems: [] };
  for await (const { row, problem } of fileItems(file, format, choice)) {
    scan.rows = row;
    if (problem === null) continue;
    scan.problems += 1;
    if (scan.namedProblems.length < NAMED_PROBLEMS) scan.namedProblems.push(`row ${row}: ${problem}`);
  }
  scan.sha256 = await sha256Of(file);
  return scan;
}

/** The file's items in order, with their row numbers and problems; refuses the file when it lacks a named column. */
export async function* fileItems(
  file: string,
  format: InputFormat,
  choice: ColumnChoice,
): AsyncGenerator<{ row: number; item: FileItem; problem: string | null }> {
  const source = await openRows(file, format, wantedColumns(choice));
  try {
    checkColumns(file, format, source.columns, choice);
    for await (const row of source.rows) yield { row: row.row, ...itemOf(row, choice) };
  } finally {
    source.close();
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
