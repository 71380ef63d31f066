// PostgreSQL's implementation of every Repository query, in one table for bindQueries.
import type { DialectQueries } from '../bindQueries.js';
import { createConversation, deleteConversation, getConversation, listConversations } from './conversations.js';
import { claimAnalysisItems, completeAnalysisItems, releaseAnalysisItems, renewAnalysisLeases } from './jobClaims.js';
import {
  addAnalysisItems,
  cancelAnalysisJob,
  countActiveAnalysisJobs,
  createAnalysisJob,
  failAnalysisJob,
  getAnalysisJob,
  listAnalysisItems,
  listAnalysisJobs,
  listAnalysisTagKeys,
  startAnalysisJob,
} from './jobs.js';
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
  createAnalysisJob,
  getAnalysisJob,
  listAnalysisJobs,
  countActiveAnalysisJobs,
  addAnalysisItems,
  startAnalysisJob,
  cancelAnalysisJob,
  failAnalysisJob,
  listAnalysisItems,
  listAnalysisTagKeys,
  claimAnalysisItems,
  renewAnalysisLeases,
  releaseAnalysisItems,
  completeAnalysisItems,
};
