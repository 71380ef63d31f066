// Splits a data file into raw rows (text and label as written) per format; labels are resolved later.

import { extname } from 'node:path';
import { DatasetColumnsError, EmptyDatasetError } from './errors.js';
import { parseCsv, parseTsv, type DelimitedContent } from './parseDelimited.js';

export type DatasetFormat = 'csv' | 'tsv' | 'jsonl' | 'parallel';

/** Column (or JSON key) names for the text, in order of preference. */
const TEXT_FIELDS = ['text', 'sentence', 'text_a', 'review', 'content', 'comment', 'document', 'tweet'];
/** Column (or JSON key) names for the gold label, in order of preference. */
const LABEL_FIELDS = ['label', 'sentiment', 'polarity', 'class', 'gold_label', 'labels'];

export interface BadRow {
  line: number;
  reason: string;
}

/** A row before its label is resolved; the numeric scheme depends on every row of the file. */
export interface RawRow {
  line: number;
  text: string;
  rawLabel: string;
}

export interface RawContent {
  format: DatasetFormat;
  textField: string;
  labelField: string;
  rows: RawRow[];
  badRows: BadRow[];
  blankLines: number;
}

function detectFormat(path: string, content: string): Exclude<DatasetFormat, 'parallel'> {
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.csv') return 'csv';
  if (extension === '.tsv' || extension === '.tab') return 'tsv';
  const firstLine = content.split('\n').find((line) => line.trim() !== '') ?? '';
  if (firstLine.trimStart().startsWith('{')) return 'jsonl';
  return firstLine.includes('\t') ? 'tsv' : 'csv';
}

/** The first name, as written, that matches a candidate (any case), trying candidates in order of preference. */
function pickField(names: readonly string[], candidates: readonly string[]): string | undefined {
  for (const candidate of candidates) {
    const match = names.find((name) => name.trim().toLowerCase() === candidate);
    if (match !== undefined) return match;
  }
  return undefined;
}

function readDelimited(path: string, format: 'csv' | 'tsv', parsed: DelimitedContent): RawContent {
  const [header, ...records] = parsed.records;
  if (header === undefined) {
    throw new EmptyDatasetError({ message: `${path} has no header row` });
  }
  const columns = header.fields;
  const textField = pickField(columns, TEXT_FIELDS);
  const labelField = pickField(columns, LABEL_FIELDS);
  if (textField === undefined || labelField === undefined) {
    throw new DatasetColumnsError({
      message:
        `${path}: header [${header.fields.join(', ')}] needs a text column (${TEXT_FIELDS.join('/')}) ` +
        `and a label column (${LABEL_FIELDS.join('/')})`,
    });
  }
  const textIndex = columns.indexOf(textField);
  const labelIndex = columns.indexOf(labelField);
  const rows: RawRow[] = [];
  const badRows: BadRow[] = [...parsed.problems];
  for (const { line, fields } of records) {
    if (fields.length !== columns.length) {
      badRows.push({ line, reason: `expected ${columns.length} columns, found ${fields.length}` });
      continue;
    }
    rows.push({ line, text: fields[textIndex] ?? '', rawLabel: fields[labelIndex] ?? '' });
  }
  return { format, textField, labelField, rows, badRows, blankLines: parsed.blankLines };
}

/** Splits a one-item-per-line file; a final newline does not make an extra item. */
function splitItems(content: string): string[] {
  const lines = content.replace(/^\uFEFF/, '').split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function fieldAsString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function readJsonLines(content: string): RawContent {
  const rows: RawRow[] = [];
  const badRows: BadRow[] = [];
  let blankLines = 0;
  const textKeys = new Set<string>();
  const labelKeys = new Set<string>();
  splitItems(content).forEach((raw, offset) => {
    const line = offset + 1;
    if (raw.trim() === '') {
      blankLines += 1;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      badRows.push({ line, reason: `malformed JSON: ${(error as Error).message}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      badRows.push({ line, reason: 'not a JSON object' });
      return;
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    const textKey = pickField(keys, TEXT_FIELDS);
    const labelKey = pickField(keys, LABEL_FIELDS);
    if (textKey !== undefined) textKeys.add(textKey);
    if (labelKey !== undefined) labelKeys.add(labelKey);
    rows.push({
      line,
      text: (textKey === undefined ? undefined : fieldAsString(record[textKey])) ?? '',
      rawLabel: (labelKey === undefined ? undefined : fieldAsString(record[labelKey])) ?? '',
    });
  });
  return {
    format: 'jsonl',
    textField: [...textKeys].join('|') || TEXT_FIELDS.join('|'),
    labelField: [...labelKeys].join('|') || LABEL_FIELDS.join('|'),
    rows,
    badRows,
    blankLines,
  };
}

/** Parallel files: a blank line is still a row, because skipping it would misalign every later label. */
export function readParallel(texts: string, labels: string): RawContent {
  const textLines = splitItems(texts);
  const labelLines = splitItems(labels);
  const rows: RawRow[] = [];
  const badRows: BadRow[] = [];
  const count = Math.max(textLines.length, labelLines.length);
  for (let offset = 0; offset < count; offset += 1) {
    const line = offset + 1;
    const text = textLines[offset];
    const rawLabel = labelLines[offset];
    if (text === undefined) badRows.push({ line, reason: 'label without a text (the texts file is shorter)' });
    else if (rawLabel === undefined) badRows.push({ line, reason: 'text without a label (the labels file is shorter)' });
    else rows.push({ line, text, rawLabel });
  }
  return { format: 'parallel', textField: 'line', labelField: 'line', rows, badRows, blankLines: 0 };
}

/** Reads a single data file, choosing CSV, TSV or JSONL by extension, else by its first line. */
export function readRawRows(path: string, content: string): RawContent {
  const format = detectFormat(path, content);
  if (format === 'jsonl') return readJsonLines(content);
  return readDelimited(path, format, format === 'csv' ? parseCsv(content) : parseTsv(content));
}
