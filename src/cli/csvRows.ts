// Reads a CSV file with a header row as a stream of rows (csv-parse), each wanted field decoded as strict UTF-8 on its own.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse';
import { BYTE_ORDER_MARK, decodeUtf8, InputFileError, type FileRow, type RowSource } from './fileRows.js';

/**
 * One field may not grow past this many bytes: an unclosed quote would otherwise swallow the rest of the file into
 * memory. Far above any text the service accepts (MAX_INPUT_CHARS is at most a million characters).
 */
const MAX_FIELD_BYTES = 8 * 1024 * 1024;

/**
 * Opens `file` and reads its header; `wanted` are the columns whose values the rows carry. Fields stay bytes until
 * decoded one by one, so a row with bad UTF-8 in one field is that row's problem, not the file's.
 */
export async function openCsvRows(file: string, wanted: readonly string[]): Promise<RowSource> {
  const source = createReadStream(file, { start: await bomLength(file) });
  const parser = source.pipe(
    parse({
      encoding: null,
      bom: false,
      relax_column_count: true,
      // A lone quote inside an unquoted field (`a 5" screen`) is text, as spreadsheets write it.
      relax_quotes: true,
      skip_empty_lines: true,
      max_record_size: MAX_FIELD_BYTES,
    }),
  );
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<Buffer[]>;
  // A pipe does not pass a destroy upstream: both go, or the file stays open when reading stops early.
  const close = (): void => {
    parser.destroy();
    source.destroy();
  };
  const first = await nextRecord(records, file).catch((error: unknown) => {
    close();
    throw error;
  });
  if (first === undefined) {
    close();
    throw new InputFileError({ message: `${file} is empty: a CSV file needs a header row naming its columns.` });
  }
  const columns = first.map((field) => decodeUtf8(field));
  if (columns.some((column) => column === null)) {
    close();
    throw new InputFileError({ message: `${file}: the header row is not valid UTF-8 (is it a CSV file?).` });
  }
  const header = columns as string[];
  const positions = new Map(wanted.map((column) => [column, header.indexOf(column)]));

  async function* rows(): AsyncGenerator<FileRow> {
    try {
      let row = 0;
      for (let record = await nextRecord(records, file); record; record = await nextRecord(records, file)) {
        row += 1;
        yield rowOf(row, record, header.length, positions);
      }
    } finally {
      close();
    }
  }
  return { columns: header, rows: rows(), close };
}

function rowOf(row: number, record: Buffer[], width: number, positions: Map<string, number>): FileRow {
  const values = new Map<string, string>();
  const problems: string[] = [];
  if (record.length !== width) {
    problems.push(`it has ${record.length} field${record.length === 1 ? '' : 's'} where the header has ${width}`);
  }
  for (const [column, position] of positions) {
    const field = record[position];
    if (field === undefined) continue;
    const text = decodeUtf8(field);
    if (text === null) problems.push(`its "${column}" is not valid UTF-8`);
    else values.set(column, text);
  }
  return { row, values, problem: problems.length > 0 ? problems.join('; ') : null };
}

/** A CSV syntax error (a quote never closed, a field past the limit) is the file's: one line naming where. */
async function nextRecord(records: AsyncIterator<Buffer[]>, file: string): Promise<Buffer[] | undefined> {
  try {
    const next = await records.next();
    return next.done ? undefined : next.value;
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const line = (error as CsvError & { lines?: number }).lines;
    const where = line === undefined ? '' : ` at line ${line}`;
    throw new InputFileError({ message: `${file} is not valid CSV${where}: ${error.message}`, cause: error });
  }
}

/** A UTF-8 byte order mark (spreadsheets write one) is skipped, so it does not become part of the first column's name. */
async function bomLength(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const start = Buffer.alloc(BYTE_ORDER_MARK.length);
    const { bytesRead } = await handle.read(start, 0, start.length, 0);
    return bytesRead === start.length && start.equals(BYTE_ORDER_MARK) ? start.length : 0;
  } finally {
    await handle.close();
  }
}
