// Reads a labelled file (CSV, TSV, JSONL or parallel text/label files) into examples and bad rows, labels read as a task's.

import { readFile } from 'node:fs/promises';
import { DatasetUnreadableError, EmptyDatasetError } from './errors.js';
import { createLabelResolver, type LabelMap, type LabelVocabulary } from './labels.js';
import { readParallel, readRawRows, type BadRow, type DatasetFormat, type RawContent } from './readRawRows.js';

export type { BadRow, DatasetFormat } from './readRawRows.js';

export interface LabelledText {
  /** 1-based line in the data file (for parallel files, the same line in both). */
  line: number;
  text: string;
  /** One of the vocabulary's labels. */
  label: string;
}

export interface Dataset {
  path: string;
  labelsPath?: string;
  format: DatasetFormat;
  /** Where the text and label were read from: column names, JSON keys, or `line`. */
  textField: string;
  labelField: string;
  /** How numeric labels were read (see labels.ts). */
  labelMapping: string;
  examples: LabelledText[];
  badRows: BadRow[];
  blankLines: number;
}

export interface ReadDatasetOptions {
  path: string;
  /** A second file with one label per line; makes `path` one text per line. */
  labelsPath?: string;
  /** What the labels may say: sentiment's spellings and numbers, or a classify task's label names and spellings. */
  vocabulary: LabelVocabulary;
  labelMap?: LabelMap;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new DatasetUnreadableError({ message: `cannot read ${path}: ${(cause as Error).message}`, cause });
  }
}

/** Reads and validates a data file; every row that cannot be used is returned in `badRows` with its line. */
export async function readDataset(options: ReadDatasetOptions): Promise<Dataset> {
  const content = await readText(options.path);
  const raw: RawContent =
    options.labelsPath === undefined
      ? readRawRows(options.path, content)
      : readParallel(content, await readText(options.labelsPath));

  const resolver = createLabelResolver(
    raw.rows.map((row) => row.rawLabel),
    options.vocabulary,
    options.labelMap,
  );
  const examples: LabelledText[] = [];
  const badRows = [...raw.badRows];
  for (const row of raw.rows) {
    const text = row.text.trim();
    const rawLabel = row.rawLabel.trim();
    const label = resolver.resolve(rawLabel);
    if (text === '') badRows.push({ line: row.line, reason: 'missing text' });
    else if (rawLabel === '') badRows.push({ line: row.line, reason: 'missing label' });
    else if (label === undefined) badRows.push({ line: row.line, reason: `unknown label "${rawLabel}" (see --label-map)` });
    else examples.push({ line: row.line, text, label });
  }
  badRows.sort((a, b) => a.line - b.line);
  if (examples.length === 0) {
    throw new EmptyDatasetError({
      message:
        `${options.path}: no usable rows (${badRows.length} bad rows` +
        (badRows[0] === undefined ? ')' : `, first on line ${badRows[0].line}: ${badRows[0].reason})`),
    });
  }
  return {
    path: options.path,
    ...(options.labelsPath === undefined ? {} : { labelsPath: options.labelsPath }),
    format: raw.format,
    textField: raw.textField,
    labelField: raw.labelField,
    labelMapping: resolver.description,
    examples,
    badRows,
    blankLines: raw.blankLines,
  };
}
