// The hook told about every sentiment stored (a query's, or a chat message's): the metrics count them.
import type { ResultSource } from '../db/index.js';
import type { Locale, SentimentLabel } from '../engine/index.js';

export type SentimentListener = (sentiment: { label: SentimentLabel; source: ResultSource; locale: Locale }) => void;
