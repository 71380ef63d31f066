// PostgreSQL's implementation of every Repository query, in one table for bindQueries.
import type { DialectQueries } from '../bindQueries.js';
import { createConversation, deleteConversation, getConversation, listConversations } from './conversations.js';
import { insertAssistantReply, insertMessageResults, insertUserTurn, listMessages } from './messages.js';
import type { PostgresDatabase } from './openPostgres.js';
import { insertQueryAnalyses, listTaskResultsOfMessages } from './results.js';
import { rebuildHourlyCounts, taskStats } from './stats.js';

export const POSTGRES_QUERIES: DialectQueries<PostgresDatabase> = {
  createConversation,
  getConversation,
  listConversations,
  deleteConversation,
  listMessages,
  insertUserTurn,
  insertMessageResults,
  insertAssistantReply,
  insertQueryAnalyses,
  listTaskResultsOfMessages,
  taskStats,
  rebuildHourlyCounts,
};
