// What the database stores, as every dialect hands it back: the rows' shapes and the values their columns allow.

export const MESSAGE_ROLES = ['user', 'assistant'] as const;
export const MESSAGE_STATUSES = ['complete', 'aborted', 'failed'] as const;
export const FINISH_REASONS = ['stop', 'length', 'aborted'] as const;
export const RESULT_SOURCES = ['chat', 'query', 'job'] as const;
export const LOCALES = ['zh', 'en'] as const;
export const TASK_KINDS = ['classify', 'extract'] as const;

export type MessageRole = (typeof MESSAGE_ROLES)[number];
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export type FinishReason = (typeof FINISH_REASONS)[number];
/** Where a result came from: a chat message, a query on a text (whose text is then kept), or an analysis job's item. */
export type ResultSource = (typeof RESULT_SOURCES)[number];
export type StoredLocale = (typeof LOCALES)[number];

export interface ConversationRow {
  id: string;
  /** API-key fingerprint, or null when auth is off. */
  owner: string | null;
  title: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  finishReason: FinishReason | null;
  tokenCount: number | null;
  latencyMs: number | null;
  createdAt: Date;
}

export interface TaskResultRow {
  id: string;
  task: string;
  kind: (typeof TASK_KINDS)[number];
  source: ResultSource;
  owner: string | null;
  conversationId: string | null;
  messageId: string | null;
  /** The analysis job and item of a `job` result (the item keeps the text). */
  jobId: string | null;
  itemId: string | null;
  text: string | null;
  locale: StoredLocale;
  /** classify: the label, its probability, and every label's as a JSON object. */
  label: string | null;
  confidence: number | null;
  scores: string | null;
  /** extract: the answer as JSON text. */
  value: string | null;
  latencyMs: number;
  createdAt: Date;
}
