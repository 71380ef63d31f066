// From a file's rows to the job's items: which columns are the text, the id and the tags, checked against the file first.
import {
  MAX_EXTERNAL_ID_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS_PER_ITEM,
} from '../service/analysisItemInput.js';
import { InputFileError, type FileRow, type InputFormat } from './fileRows.js';

export interface ColumnChoice {
  /** The column holding the text to analyse. */
  text: string;
  /** The column holding each row's id (the item's externalId); without it, a row is `row:<n>`. */
  id?: string;
  /** Columns stored with each item as tags (key = column name), for statistics per value and the results file. */
  tags: readonly string[];
}

export interface FileItem {
  text: string;
  externalId: string;
  tags: { key: string; value: string }[];
}

/**
 * An item whose JSON is larger than this is not sent as it is (the API's request bodies are 1 MiB by default, and a
 * chunk must hold it): far above the longest text the service analyses (MAX_INPUT_CHARS, 4,000 by default).
 */
const MAX_ITEM_BYTES = 256 * 1024;

/** Every column the items read. */
export function wantedColumns(choice: ColumnChoice): string[] {
  return [...new Set([choice.text, ...(choice.id === undefined ? [] : [choice.id]), ...choice.tags])];
}

/**
 * Refuses, in one line, tag columns the API cannot take as tag keys, and a file that lacks a named column (CSV: in its
 * header; JSONL: in its first object).
 */
export function checkColumns(file: string, format: InputFormat, columns: readonly string[], choice: ColumnChoice): void {
  if (choice.tags.length > MAX_TAGS_PER_ITEM) {
    throw new InputFileError({
      message: `--tag-columns names ${choice.tags.length} columns; an item has at most ${MAX_TAGS_PER_ITEM} tags.`,
    });
  }
  const unfit = choice.tags.find((key) => key.length > MAX_TAG_KEY_LENGTH || !storable(key));
  if (unfit !== undefined) {
    throw new InputFileError({
      message: `--tag-columns: "${unfit}" cannot be a tag key (at most ${MAX_TAG_KEY_LENGTH} characters, no U+0000).`,
    });
  }
  const missing = wantedColumns(choice).filter((column) => !columns.includes(column));
  if (missing.length === 0) return;
  const where = format === 'csv' ? 'its header has' : 'its first line has the keys';
  const names = missing.map((column) => `"${column}"`).join(', ');
  const has = columns.length === 0 ? 'none' : columns.map((column) => `"${column}"`).join(', ');
  throw new InputFileError({ message: `${file} has no column ${names}: ${where} ${has}.` });
}

/**
 * The row as an item, and why it cannot be analysed as it is. Such an item is still sent, with an empty text, so the
 * service stores it failed (BAD_USER_INPUT) under its id and it shows in the results file; it keeps the id and tags
 * that could be read.
 */
export function itemOf(row: FileRow, choice: ColumnChoice): { item: FileItem; problem: string | null } {
  const problems = row.problem === null ? [] : [row.problem];
  let id = choice.id === undefined ? undefined : row.values.get(choice.id);
  // An id or tag value the API would refuse would fail the whole chunk: the row fails alone instead, without it.
  if (id !== undefined && (id.length > MAX_EXTERNAL_ID_LENGTH || !storable(id))) {
    problems.push(`its id is not usable (at most ${MAX_EXTERNAL_ID_LENGTH} characters, no U+0000)`);
    id = undefined;
  }
  const tags = choice.tags.flatMap((key) => {
    const value = row.values.get(key);
    // An empty cell is no tag: statistics by that column count the row under "no value".
    if (value === undefined || value === '') return [];
    if (value.length <= MAX_TAG_VALUE_LENGTH && storable(value)) return [{ key, value }];
    problems.push(`its "${key}" is not usable as a tag (at most ${MAX_TAG_VALUE_LENGTH} characters, no U+0000)`);
    return [];
  });
  const externalId = id === undefined || id === '' ? `row:${row.row}` : id;
  const text = row.values.get(choice.text);
  if (text === undefined && row.problem === null) problems.push(`it has no "${choice.text}"`);
  const problem = problems.length > 0 ? problems.join('; ') : null;
  if (problem !== null) return { item: { text: '', externalId, tags }, problem };
  const item = { text: text!, externalId, tags };
  const bytes = Buffer.byteLength(JSON.stringify(item));
  if (bytes > MAX_ITEM_BYTES) {
    return { item: { ...item, text: '' }, problem: `it is ${bytes} bytes, more than the ${MAX_ITEM_BYTES} one item may take` };
  }
  return { item, problem: null };
}

/** Text every database stores as given: no U+0000, no lone surrogate (decoded UTF-8 never has one; JSON may). */
function storable(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}
