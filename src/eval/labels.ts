// Turns the labels written in a data file into the evaluated task's labels: sentiment's many public spellings, or a
// classify task's own label names and spellings.

import type { ClassifyTaskDefinition } from '../engine/index.js';
import { SENTIMENT_LABELS } from './classifier.js';
import { LabelMapError } from './errors.js';

export type LabelMap = ReadonlyMap<string, string>;

interface NumericScheme {
  name: string;
  map: LabelMap;
  /** A number only this convention uses; seeing it in a file selects the convention. */
  marker?: string;
}

/** What a data file's labels may say for one task. */
export interface LabelVocabulary {
  /** The task's labels, in its order: every answer the classifier may give. */
  readonly labels: readonly string[];
  /** Spellings recognised in any file, keyed by `normalizeLabelKey`. */
  readonly words: LabelMap;
  /** Numeric conventions a file's numbers may follow; without one, numbers need `--label-map`. */
  readonly numericSchemes: readonly NumericScheme[];
}

const SENTIMENT_WORDS: LabelMap = new Map([
  ['positive', 'positive'],
  ['pos', 'positive'],
  ['正面', 'positive'],
  ['negative', 'negative'],
  ['neg', 'negative'],
  ['负面', 'negative'],
  ['負面', 'negative'],
  ['neutral', 'neutral'],
  ['neu', 'neutral'],
  ['中性', 'neutral'],
]);

/**
 * Numeric conventions: GLUE SST-2, ChnSentiCorp and IMDB use 0/1; TweetEval-style three-class sets
 * use 0/1/2; some sets use -1/0/1. The first whose marker a file uses wins, else 0/1; numbers outside
 * the chosen convention (a stray 5, or 1–5 stars) become bad rows rather than guesses.
 */
const SENTIMENT_NUMERIC_SCHEMES: readonly NumericScheme[] = [
  {
    name: 'signed -1/0/1',
    marker: '-1',
    map: new Map([
      ['-1', 'negative'],
      ['0', 'neutral'],
      ['1', 'positive'],
    ]),
  },
  {
    name: 'three-class 0/1/2',
    marker: '2',
    map: new Map([
      ['0', 'negative'],
      ['1', 'neutral'],
      ['2', 'positive'],
    ]),
  },
  {
    name: 'binary 0/1',
    map: new Map([
      ['0', 'negative'],
      ['1', 'positive'],
    ]),
  },
];

export const SENTIMENT_VOCABULARY: LabelVocabulary = {
  labels: SENTIMENT_LABELS,
  words: SENTIMENT_WORDS,
  numericSchemes: SENTIMENT_NUMERIC_SCHEMES,
};

const NUMBER_PATTERN = /^[+-]?\d+(\.0*)?$/;

/** Canonical key for a raw label: trimmed, lower-cased, and `1.0` / `+1` read as `1`. */
export function normalizeLabelKey(raw: string): string {
  const key = raw.trim().toLowerCase();
  return NUMBER_PATTERN.test(key) ? String(Number(key)) : key;
}

function isNumericKey(key: string): boolean {
  return NUMBER_PATTERN.test(key);
}

/**
 * A classify task's vocabulary: each label's name and its spellings in both languages, in any case. A name always
 * reads as itself; a spelling two labels share once case is ignored reads as neither (a guess would skew the metrics).
 */
export function taskVocabulary(task: Pick<ClassifyTaskDefinition, 'labels'>): LabelVocabulary {
  const names = new Map(task.labels.map((label) => [normalizeLabelKey(label.name), label.name]));
  const spellings = new Map<string, string | null>();
  for (const label of task.labels) {
    for (const spelling of [...label.spellings.en, ...label.spellings.zh]) {
      const key = normalizeLabelKey(spelling);
      const owner = spellings.get(key);
      spellings.set(key, owner === undefined || owner === label.name ? label.name : null);
    }
  }
  const words = new Map(names);
  for (const [key, label] of spellings) if (label !== null && !names.has(key)) words.set(key, label);
  return { labels: task.labels.map((label) => label.name), words, numericSchemes: [] };
}

/** `a, b or c`, for messages. */
export function listLabels(labels: readonly string[]): string {
  return labels.length < 2 ? labels.join('') : `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`;
}

/** Parses `0=negative,1=neutral,2=positive`; values may use any spelling the vocabulary recognises. */
export function parseLabelMap(spec: string, vocabulary: LabelVocabulary): LabelMap {
  const map = new Map<string, string>();
  for (const entry of spec.split(',')) {
    if (entry.trim() === '') continue;
    const separator = entry.indexOf('=');
    if (separator <= 0) {
      throw new LabelMapError({ message: `label map entry "${entry.trim()}" is not of the form RAW=LABEL (in "${spec}")` });
    }
    const key = normalizeLabelKey(entry.slice(0, separator));
    const label = vocabulary.words.get(normalizeLabelKey(entry.slice(separator + 1)));
    if (label === undefined) {
      throw new LabelMapError({ message: `label map entry "${entry.trim()}" must map to ${listLabels(vocabulary.labels)}` });
    }
    map.set(key, label);
  }
  if (map.size === 0) throw new LabelMapError({ message: `label map "${spec}" has no entries` });
  return map;
}

export function formatLabelMap(map: LabelMap): string {
  return [...map].map(([key, label]) => `${key}=${label}`).join(',');
}

export interface LabelResolver {
  /** The task label for a raw label, or undefined when the spelling is unknown. */
  resolve(raw: string): string | undefined;
  /** How numbers are read, for the report: the explicit map, the default scheme chosen, or none. */
  readonly description: string;
}

/**
 * Builds the resolver for one file. Without an explicit map the numeric scheme is picked from the
 * numbers the file uses, so `1` means positive in a 0/1 file and neutral in a 0/1/2 file.
 * An explicit map wins over the word spellings too, so `--label-map neu=negative` is honoured.
 */
export function createLabelResolver(
  rawLabels: Iterable<string>,
  vocabulary: LabelVocabulary,
  explicitMap?: LabelMap,
): LabelResolver {
  const { words } = vocabulary;
  if (explicitMap !== undefined) {
    return {
      resolve: (raw) => {
        const key = normalizeLabelKey(raw);
        return explicitMap.get(key) ?? words.get(key);
      },
      description: `${formatLabelMap(explicitMap)} (--label-map)`,
    };
  }
  const numbers = new Set<string>();
  for (const raw of rawLabels) {
    const key = normalizeLabelKey(raw);
    if (isNumericKey(key)) numbers.add(key);
  }
  const scheme =
    numbers.size === 0
      ? undefined
      : vocabulary.numericSchemes.find(({ marker }) => marker === undefined || numbers.has(marker));
  let description = 'word labels only';
  if (scheme !== undefined) description = `${formatLabelMap(scheme.map)} (default for ${scheme.name} labels)`;
  else if (numbers.size > 0) description += ' (numbers need --label-map)';
  return {
    resolve: (raw) => {
      const key = normalizeLabelKey(raw);
      return words.get(key) ?? scheme?.map.get(key);
    },
    description,
  };
}
