// Turns the label spellings found in public sentiment data into the engine's three labels.

import type { SentimentLabel } from './classifier.js';
import { LabelMapError } from './errors.js';

/** Spellings recognised in any file, compared after trimming and lower-casing. */
const WORD_LABELS: ReadonlyMap<string, SentimentLabel> = new Map([
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

export type LabelMap = ReadonlyMap<string, SentimentLabel>;

interface NumericScheme {
  name: string;
  map: LabelMap;
  /** A number only this convention uses; seeing it in a file selects the convention. */
  marker?: string;
}

/**
 * Numeric conventions: GLUE SST-2, ChnSentiCorp and IMDB use 0/1; TweetEval-style three-class sets
 * use 0/1/2; some sets use -1/0/1. The first whose marker a file uses wins, else 0/1; numbers outside
 * the chosen convention (a stray 5, or 1–5 stars) become bad rows rather than guesses.
 */
const NUMERIC_SCHEMES: readonly NumericScheme[] = [
  { name: 'signed -1/0/1', marker: '-1', map: new Map([['-1', 'negative'], ['0', 'neutral'], ['1', 'positive']]) },
  { name: 'three-class 0/1/2', marker: '2', map: new Map([['0', 'negative'], ['1', 'neutral'], ['2', 'positive']]) },
  { name: 'binary 0/1', map: new Map([['0', 'negative'], ['1', 'positive']]) },
];

const NUMBER_PATTERN = /^[+-]?\d+(\.0*)?$/;

/** Canonical key for a raw label: trimmed, lower-cased, and `1.0` / `+1` read as `1`. */
export function normalizeLabelKey(raw: string): string {
  const key = raw.trim().toLowerCase();
  return NUMBER_PATTERN.test(key) ? String(Number(key)) : key;
}

function isNumericKey(key: string): boolean {
  return NUMBER_PATTERN.test(key);
}

/** Parses `0=negative,1=neutral,2=positive`; values may use any recognised spelling. */
export function parseLabelMap(spec: string): LabelMap {
  const map = new Map<string, SentimentLabel>();
  for (const entry of spec.split(',')) {
    if (entry.trim() === '') continue;
    const separator = entry.indexOf('=');
    if (separator <= 0) {
      throw new LabelMapError({ message: `label map entry "${entry.trim()}" is not of the form RAW=LABEL (in "${spec}")` });
    }
    const key = normalizeLabelKey(entry.slice(0, separator));
    const label = WORD_LABELS.get(entry.slice(separator + 1).trim().toLowerCase());
    if (label === undefined) {
      throw new LabelMapError({ message: `label map entry "${entry.trim()}" must map to positive, negative or neutral` });
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
  /** The engine label for a raw label, or undefined when the spelling is unknown. */
  resolve(raw: string): SentimentLabel | undefined;
  /** How numbers are read, for the report: the explicit map, the default scheme chosen, or none. */
  readonly description: string;
}

/**
 * Builds the resolver for one file. Without an explicit map the numeric scheme is picked from the
 * numbers the file uses, so `1` means positive in a 0/1 file and neutral in a 0/1/2 file.
 * An explicit map wins over the word spellings too, so `--label-map neu=negative` is honoured.
 */
export function createLabelResolver(rawLabels: Iterable<string>, explicitMap?: LabelMap): LabelResolver {
  if (explicitMap !== undefined) {
    return {
      resolve: (raw) => {
        const key = normalizeLabelKey(raw);
        return explicitMap.get(key) ?? WORD_LABELS.get(key);
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
      : NUMERIC_SCHEMES.find(({ marker }) => marker === undefined || numbers.has(marker));
  return {
    resolve: (raw) => {
      const key = normalizeLabelKey(raw);
      return WORD_LABELS.get(key) ?? scheme?.map.get(key);
    },
    description:
      scheme === undefined ? 'word labels only' : `${formatLabelMap(scheme.map)} (default for ${scheme.name} labels)`,
  };
}
