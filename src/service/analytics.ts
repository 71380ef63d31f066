// Statistics over stored results: `taskStats` of any classify task and `sentimentStats` (taskStats of `sentiment`).
import type { Repository, ResultSource, StatsBucket, TaskStats } from '../db/index.js';
import { BadInputError, SENTIMENT_TASK_NAME } from '../engine/index.js';
import { assertDateInRange } from './dateRange.js';
import type { EngineHolder } from './EngineHolder.js';
import { assertId } from './ids.js';
import { toSentimentStats, type SentimentStats } from './sentimentStats.js';

export interface AnalyticsServiceOptions {
  repository: Repository;
  /** Knows the tasks `taskStats` may be asked about; `sentimentStats` needs no engine. */
  engine: EngineHolder;
}

export interface StatsFilter {
  from?: Date | null;
  to?: Date | null;
  conversationId?: string | null;
  source?: ResultSource | null;
}

export interface AnalyticsService {
  /** Counts per label of a classify task (sentiment's too), owner-scoped. */
  taskStats(task: string, owner: string | null, filter: StatsFilter, bucket: StatsBucket): Promise<TaskStats>;
  sentimentStats(owner: string | null, filter: StatsFilter, bucket: StatsBucket): Promise<SentimentStats>;
}

export function createAnalyticsService(options: AnalyticsServiceOptions): AnalyticsService {
  const { repository, engine } = options;
  const statsOf = (task: string, owner: string | null, filter: StatsFilter, bucket: StatsBucket): Promise<TaskStats> => {
    checkStatsFilter(filter);
    return repository.taskStats({
      task,
      owner,
      bucket,
      ...(filter.from ? { from: filter.from } : {}),
      ...(filter.to ? { to: filter.to } : {}),
      ...(filter.conversationId ? { conversationId: filter.conversationId } : {}),
      ...(filter.source ? { source: filter.source } : {}),
    });
  };
  return {
    taskStats: async (task, owner, filter, bucket) => {
      // An unknown task: the engine's own refusal. The wrong kind is refused here, not with `task(name, 'classify')`,
      // whose message sends the caller to `extract`, which has no statistics either.
      if (engine.get().task(task).kind !== 'classify') {
        throw new BadInputError({ message: `Task "${task}" is an extract task; only classify tasks have label statistics.` });
      }
      return statsOf(task, owner, filter, bucket);
    },
    sentimentStats: async (owner, filter, bucket) => toSentimentStats(await statsOf(SENTIMENT_TASK_NAME, owner, filter, bucket)),
  };
}

function checkStatsFilter(filter: StatsFilter): void {
  if (filter.conversationId != null) assertId(filter.conversationId, 'conversationId');
  if (filter.from) assertDateInRange(filter.from, '`filter.from`');
  if (filter.to) assertDateInRange(filter.to, '`filter.to`');
  if (filter.from && filter.to && filter.from >= filter.to) {
    throw new BadInputError({ message: '`from` must be earlier than `to`.' });
  }
}
