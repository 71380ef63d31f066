// The database layer's public surface: opening the file, conversations, messages, sentiments and stats.
export {
  openDatabase,
  DEFAULT_BUSY_TIMEOUT_MS,
  type AppDatabase,
  type AppSchema,
  type OpenDatabaseOptions,
} from './client.js';
export {
  DatabaseError,
  DatabaseInvalidError,
  DatabaseLockedError,
  DatabaseMigrationError,
  DatabaseUnavailableError,
  toDatabaseError,
  type DatabaseErrorCode,
  type DatabaseErrorOptions,
} from './errors.js';
export {
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type ConversationPage,
  type ConversationRow,
  type CreateConversationInput,
  type ListConversationsOptions,
} from './conversations.js';
export {
  insertAssistantReply,
  insertUserTurn,
  listMessages,
  type AssistantReplyInput,
  type FinishReason,
  type MessageRow,
  type MessageStatus,
  type MessageWithSentiment,
  type UserTurn,
  type UserTurnInput,
} from './messages.js';
export {
  insertQuerySentiments,
  type NewQuerySentiment,
  type NewSentiment,
  type SentimentLabel,
  type SentimentRow,
  type SentimentSource,
} from './sentiments.js';
export { rebuildHourlyCounts } from './hourlyCounts.js';
export {
  insertQueryAnalysis,
  listTaskResultsOfMessages,
  type NewTaskResult,
  type TaskResultRow,
  type TaskResultSource,
} from './taskResults.js';
export { taskStats, type LabelCount, type TaskStats, type TaskStatsOptions } from './taskStats.js';
export {
  sentimentStats,
  type LabelCounts,
  type SentimentSeriesPoint,
  type SentimentStats,
  type SentimentStatsOptions,
  type StatsBucket,
} from './analytics.js';
