// What the API shows of stored rows: sentiments with their display line, messages with their sentiment.
import type { ConversationRow, MessageWithSentiment, SentimentRow, TaskResultRow } from '../db/index.js';
import type { Locale, SentimentLabel } from '../engine/index.js';
import { sentimentDisplay, sentimentEmoji } from './sentimentDisplay.js';

export interface SentimentView {
  id: string;
  label: SentimentLabel;
  confidence: number;
  scores: Record<SentimentLabel, number>;
  emoji: string;
  display: string;
  locale: Locale;
  latencyMs: number;
  createdAt: Date;
}

/** A classify task's stored result; sentiment's too (its id is then the sentiment record's). */
export interface ClassificationView {
  kind: 'classify';
  id: string;
  task: string;
  label: string;
  confidence: number;
  /** Every label's probability, in the task's label order; they sum to 1. */
  scores: { label: string; probability: number }[];
  locale: Locale;
  latencyMs: number;
  createdAt: Date;
}

/** An extract task's stored result: the answer, valid against the task's schema. */
export interface ExtractionView {
  kind: 'extract';
  id: string;
  task: string;
  value: unknown;
  locale: Locale;
  latencyMs: number;
  createdAt: Date;
}

export type TaskResultView = ClassificationView | ExtractionView;

export interface MessageView {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'aborted' | 'failed';
  finishReason: 'stop' | 'length' | 'aborted' | null;
  createdAt: Date;
  sentiment: SentimentView | null;
  /** What the chat's tasks found in a user message (its sentiment included), in the order they ran. */
  taskResults: TaskResultView[];
  tokenCount: number | null;
  latencyMs: number | null;
}

export type ConversationView = ConversationRow;

export function toSentimentView(row: SentimentRow): SentimentView {
  return {
    id: row.id,
    label: row.label,
    confidence: row.confidence,
    scores: { positive: row.scorePositive, negative: row.scoreNegative, neutral: row.scoreNeutral },
    emoji: sentimentEmoji(row.label),
    display: sentimentDisplay(row.label, row.locale),
    locale: row.locale,
    latencyMs: row.latencyMs,
    createdAt: row.createdAt,
  };
}

export function sentimentAsTaskResult(row: SentimentRow): ClassificationView {
  return {
    kind: 'classify',
    id: row.id,
    task: 'sentiment',
    label: row.label,
    confidence: row.confidence,
    scores: [
      { label: 'positive', probability: row.scorePositive },
      { label: 'negative', probability: row.scoreNegative },
      { label: 'neutral', probability: row.scoreNeutral },
    ],
    locale: row.locale,
    latencyMs: row.latencyMs,
    createdAt: row.createdAt,
  };
}

export function toTaskResultView(row: TaskResultRow): TaskResultView {
  const common = { id: row.id, task: row.task, locale: row.locale, latencyMs: row.latencyMs, createdAt: row.createdAt };
  if (row.kind === 'extract') return { kind: 'extract', ...common, value: JSON.parse(row.value ?? 'null') };
  const scores = JSON.parse(row.scores ?? '{}') as Record<string, number>;
  return {
    kind: 'classify',
    ...common,
    label: row.label!,
    confidence: row.confidence!,
    scores: Object.entries(scores).map(([label, probability]) => ({ label, probability })),
  };
}

export function toMessageView(row: MessageWithSentiment, taskResults: readonly TaskResultRow[] = []): MessageView {
  return {
    id: row.id,
    conversationId: row.conversationId,
    role: row.role,
    content: row.content,
    status: row.status,
    finishReason: row.finishReason,
    createdAt: row.createdAt,
    sentiment: row.sentiment ? toSentimentView(row.sentiment) : null,
    taskResults: [...(row.sentiment ? [sentimentAsTaskResult(row.sentiment)] : []), ...taskResults.map(toTaskResultView)],
    tokenCount: row.tokenCount,
    latencyMs: row.latencyMs,
  };
}
