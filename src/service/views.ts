// What the API shows of stored rows: task results, sentiments with their display line, messages with their results.
import type { ConversationRow, MessageRow, TaskResultRow } from '../db/index.js';
import { SENTIMENT_TASK_NAME, type Locale, type SentimentLabel } from '../engine/index.js';
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

/** A classify task's stored result; sentiment's too. */
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

/** A stored result of the task `sentiment` as a Sentiment: scores keyed positive/negative/neutral, as stored. */
export function toSentimentView(row: TaskResultRow): SentimentView {
  const label = row.label as SentimentLabel;
  return {
    id: row.id,
    label,
    confidence: row.confidence!,
    scores: JSON.parse(row.scores ?? '{}') as Record<SentimentLabel, number>,
    emoji: sentimentEmoji(label),
    display: sentimentDisplay(label, row.locale),
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

export function toMessageView(row: MessageRow, taskResults: readonly TaskResultRow[] = []): MessageView {
  const sentiment = taskResults.find((result) => result.task === SENTIMENT_TASK_NAME && result.kind === 'classify');
  return {
    id: row.id,
    conversationId: row.conversationId,
    role: row.role,
    content: row.content,
    status: row.status,
    finishReason: row.finishReason,
    createdAt: row.createdAt,
    sentiment: sentiment ? toSentimentView(sentiment) : null,
    taskResults: taskResults.map(toTaskResultView),
    tokenCount: row.tokenCount,
    latencyMs: row.latencyMs,
  };
}
