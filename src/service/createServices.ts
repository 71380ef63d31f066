// What a request can do, one service per noun (mirroring src/schema/), assembled here on one repository and engine.
import type { Repository } from '../db/index.js';
import type { TaskCatalog } from '../engine/index.js';
import { createAnalysisService, type AnalysisService } from './analysis.js';
import { createAnalysisJobsService, type AnalysisJobsService, type JobLimits } from './analysisJobs.js';
import { createAnalyticsService, type AnalyticsService } from './analytics.js';
import { createChatService, type ChatService } from './chat.js';
import { createConversationsService, type ConversationsService } from './conversations.js';
import type { EngineHolder } from './EngineHolder.js';
import { createHealthService, type HealthService } from './health.js';
import { JobEvents } from './JobEvents.js';
import { createJobResultsService, type JobResultsService } from './jobResults.js';
import { createOperations, type Operations } from './operations.js';
import type { SentimentListener } from './sentimentListener.js';

export interface ServicesOptions {
  repository: Repository;
  engine: EngineHolder;
  /** Told about every sentiment stored (a query's, or a chat message's); for metrics. */
  onSentiment?: SentimentListener;
  /** Tasks run on every chat message before the reply (CHAT_TASKS); default: sentiment. */
  chatTasks?: readonly string[];
  /** Texts (× tasks) one GraphQL operation may send to the engine (MAX_OPERATION_TEXTS). */
  maxOperationTexts?: number;
  /** The tasks there are (TASKS_FILE's and the built-ins), known before the model loads. */
  taskCatalog?: TaskCatalog;
  /** Where analysis jobs queued and cancelled here are told; the process's job runner listens (default: nobody). */
  jobEvents?: JobEvents;
  /** MAX_JOB_ITEMS, MAX_JOB_ITEMS_PER_CALL, MAX_JOBS_PER_KEY. */
  jobLimits?: JobLimits;
}

export interface Services {
  chat: ChatService;
  conversations: ConversationsService;
  analysis: AnalysisService;
  analysisJobs: AnalysisJobsService;
  analytics: AnalyticsService;
  health: HealthService;
  operations: Operations;
  jobResults: JobResultsService;
}

export function createServices(options: ServicesOptions): Services {
  const chat = createChatService(options);
  return {
    chat,
    // A deleted conversation's turn in progress is stopped: its reply has nowhere to go.
    conversations: createConversationsService({ repository: options.repository, onDeleted: chat.conversationDeleted }),
    analysis: createAnalysisService(options),
    analysisJobs: createAnalysisJobsService({ ...options, jobEvents: options.jobEvents ?? new JobEvents() }),
    analytics: createAnalyticsService(options),
    health: createHealthService(options),
    operations: createOperations(options),
    jobResults: createJobResultsService(options),
  };
}
