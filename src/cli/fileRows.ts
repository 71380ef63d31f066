// The rows of an input file as `analyze-file` reads them: the shapes both readers (CSV, JSONL) yield, and the refusal.
import { CodedError } from '../CodedError.js';

export const INPUT_FORMATS = ['csv', 'jsonl'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The file cannot be analysed at all (unknown format, no header, a column that is not there): refused before any upload. */
export class InputFileError extends CodedError {
  readonly code = 'BAD_INPUT_FILE';
}

/** One data row: the wanted columns it has (decoded), or why it cannot be read as a whole. */
export interface FileRow {
  /** 1-based position among the data rows (a CSV header and blank JSONL lines are not counted). */
  row: number;
  /** Wanted column → its text; a column the row lacks, or whose bytes are not UTF-8, is absent. */
  values: Map<string, string>;
  /** Why the row is not usable (bad UTF-8 in a wanted column, a CSV row of the wrong length, a line that is not JSON). */
  problem: string | null;
}

/** An opened file: its columns as far as they are known before reading rows, and the rows, read lazily in order. */
export interface RowSource {
  /** A CSV file's header; a JSONL file's first object's keys. */
  columns: readonly string[];
  rows: AsyncIterable<FileRow>;
  /** Stops reading (the rows are not all consumed); safe to call more than once. */
  close(): void;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`, or null when they are not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

export const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);
