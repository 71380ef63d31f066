// Reads a JSONL file (one JSON object per line) as a stream of rows, each line decoded as strict UTF-8 on its own.
import { createReadStream } from 'node:fs';
import { decodeUtf8, InputFileError, type FileRow, type RowSource } from './fileRows.js';

const NEWLINE = 0x0a;
/** One line may not grow past this many bytes (see csvRows.ts): a file without newlines is not read whole. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Opens `file` and reads its first object, whose keys are the columns as far as they are known; `wanted` are the keys
 * whose values the rows carry (a string as it is, a number or boolean as its JSON text; null or absent: no value).
 */
export async function openJsonlRows(file: string, wanted: readonly string[]): Promise<RowSource> {
  const stream = createReadStream(file);
  const lines = nonBlankLines(stream, file);
  const close = (): void => void stream.destroy();
  let first: IteratorResult<Buffer>;
  try {
    first = await lines.next();
  } catch (error) {
    close();
    throw error;
  }
  if (first.done) {
    close();
    throw new InputFileError({ message: `${file} is empty: a JSONL file needs one JSON object per line.` });
  }
  const head = objectOf(first.value);
  if (typeof head === 'string') {
    close();
    throw new InputFileError({ message: `${file} is not JSONL: its first line ${head}.` });
  }

  async function* rows(): AsyncGenerator<FileRow> {
    try {
      let row = 1;
      yield rowOf(row, head as Record<string, unknown>, wanted);
      for (let line = await lines.next(); !line.done; line = await lines.next()) {
        row += 1;
        const object = objectOf(line.value);
        if (typeof object === 'string') yield { row, values: new Map(), problem: `the line ${object}` };
        else yield rowOf(row, object, wanted);
      }
    } finally {
      close();
    }
  }
  return { columns: Object.keys(head), rows: rows(), close };
}

function rowOf(row: number, object: Record<string, unknown>, wanted: readonly string[]): FileRow {
  const values = new Map<string, string>();
  for (const key of wanted) {
    const value = object[key];
    if (value === undefined || value === null) continue;
    values.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return { row, values, problem: null };
}

/** The line's object, or what is wrong with it (a phrase: "is not valid UTF-8"). */
function objectOf(line: Buffer): Record<string, unknown> | string {
  const text = decodeUtf8(line);
  if (text === null) return 'is not valid UTF-8';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  return value as Record<string, unknown>;
}

/** Lines as bytes, split on LF (a byte that never occurs inside a multi-byte UTF-8 character), blank ones skipped. */
async function* nonBlankLines(stream: AsyncIterable<Buffer>, file: string): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNumber = 0;
  const take = (tail: Buffer): Buffer => {
    const line = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    lineNumber += 1;
    return line;
  };
  for await (const chunk of stream) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const line = take(chunk.subarray(start, end));
      start = end + 1;
      if (!isBlank(line)) yield line;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) {
        throw new InputFileError({ message: `${file}: line ${lineNumber + 1} is longer than ${MAX_LINE_BYTES} bytes.` });
      }
    }
  }
  if (pending.length > 0) {
    const line = take(Buffer.alloc(0));
    if (!isBlank(line)) yield line;
  }
}

/** Blank: only spaces, tabs and CR (a CRLF file's line ends in CR, which JSON.parse ignores as whitespace anyway). */
function isBlank(line: Buffer): boolean {
  return line.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0d);
}
