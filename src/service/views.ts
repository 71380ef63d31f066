// What the API shows of stored rows: sentiments with their display line, messages with their sentiment.
import type { ConversationRow, MessageWithSentiment, SentimentRow } from '../db/index.js';
import { sentimentDisplay, sentimentEmoji, type Locale, type SentimentLabel } from '../engine/index.js';

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

export interface MessageView {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'aborted' | 'failed';
  finishReason: 'stop' | 'length' | 'aborted' | null;
  createdAt: Date;
  sentiment: SentimentView | null;
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

export function toMessageView(row: MessageWithSentiment): MessageView {
  return {
    id: row.id,
    conversationId: row.conversationId,
    role: row.role,
    content: row.content,
    status: row.status,
    finishReason: row.finishReason,
    createdAt: row.createdAt,
    sentiment: row.sentiment ? toSentimentView(row.sentiment) : null,
    tokenCount: row.tokenCount,
    latencyMs: row.latencyMs,
  };
}
