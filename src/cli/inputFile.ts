// Which reader an input file gets (its format from --format or its extension), and the refusal of anything else.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { openCsvRows } from './csvRows.js';
import { InputFileError, INPUT_FORMATS, type InputFormat, type RowSource } from './fileRows.js';
import { openJsonlRows } from './jsonlRows.js';

const EXTENSIONS: Readonly<Record<string, InputFormat>> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

/** `format` when given, else the one the file's extension names; anything else is refused. */
export function formatOf(file: string, format?: InputFormat): InputFormat {
  if (format !== undefined) return format;
  const byExtension = EXTENSIONS[path.extname(file).toLowerCase()];
  if (byExtension === undefined) {
    throw new InputFileError({
      message: `${file} is neither .csv nor .jsonl: analyze-file reads ${INPUT_FORMATS.join(' and ')} files (or say which with --format).`,
    });
  }
  return byExtension;
}

/** Opens a regular file in `format`, reading its header (CSV) or first line (JSONL) now and its rows when iterated. */
export async function openRows(file: string, format: InputFormat, wanted: readonly string[]): Promise<RowSource> {
  const stats = await stat(file).catch(() => null);
  if (!stats?.isFile()) throw new InputFileError({ message: `${file} is not a file that can be read.` });
  return format === 'csv' ? openCsvRows(file, wanted) : openJsonlRows(file, wanted);
}
