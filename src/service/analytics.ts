// Statistics over stored results: `taskStats` of any classify task and `sentimentStats` (taskStats of `sentiment`).
import type { Repository, ResultSource, StatsBucket, Tag, TaskStats } from '../db/index.js';
import { BadInputError, SENTIMENT_TASK_NAME } from '../engine/index.js';
import { checkLabel, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH } from './analysisItemInput.js';
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
  /** Only results of this analysis job's items. */
  jobId?: string | null;
  /** Only results of job items carrying every one of these tags. */
  tags?: readonly Tag[] | null;
}

/** Also count per value of this tag of the job items: `groups`. */
export interface StatsGroupBy {
  tag: string;
}

/** Most tags one filter may require: each is a join. */
export const MAX_FILTER_TAGS = 8;

export interface AnalyticsService {
  /** Counts per label of a classify task (sentiment's too), owner-scoped. */
  taskStats(
    task: string,
    owner: string | null,
    filter: StatsFilter,
    bucket: StatsBucket,
    groupBy?: StatsGroupBy | null,
  ): Promise<TaskStats>;
  sentimentStats(
    owner: string | null,
    filter: StatsFilter,
    bucket: StatsBucket,
    groupBy?: StatsGroupBy | null,
  ): Promise<SentimentStats>;
}

export function createAnalyticsService(options: AnalyticsServiceOptions): AnalyticsService {
  const { repository, engine } = options;
  const statsOf = (
    task: string,
    owner: string | null,
    filter: StatsFilter,
    bucket: StatsBucket,
    groupBy: StatsGroupBy | null | undefined,
  ): Promise<TaskStats> => {
    checkStatsFilter(filter);
    if (groupBy) checkLabel(groupBy.tag, '`groupBy.tag`', MAX_TAG_KEY_LENGTH);
    return repository.taskStats({
      task,
      owner,
      bucket,
      ...(filter.from ? { from: filter.from } : {}),
      ...(filter.to ? { to: filter.to } : {}),
      ...(filter.conversationId ? { conversationId: filter.conversationId } : {}),
      ...(filter.source ? { source: filter.source } : {}),
      ...(filter.jobId ? { jobId: filter.jobId } : {}),
      ...(filter.tags && filter.tags.length > 0 ? { tags: filter.tags } : {}),
      ...(groupBy ? { groupByTag: groupBy.tag } : {}),
    });
  };
  return {
    taskStats: async (task, owner, filter, bucket, groupBy) => {
      // An unknown task: the engine's own refusal. The wrong kind is refused here, not with `task(name, 'classify')`,
      // whose message sends the caller to `extract`, which has no statistics either.
      if (engine.get().task(task).kind !== 'classify') {
        throw new BadInputError({ message: `Task "${task}" is an extract task; only classify tasks have label statistics.` });
      }
      return statsOf(task, owner, filter, bucket, groupBy);
    },
    sentimentStats: async (owner, filter, bucket, groupBy) =>
      toSentimentStats(await statsOf(SENTIMENT_TASK_NAME, owner, filter, bucket, groupBy)),
  };
}

function checkStatsFilter(filter: StatsFilter): void {
  if (filter.conversationId != null) assertId(filter.conversationId, 'conversationId');
  if (filter.jobId != null) assertId(filter.jobId, 'jobId');
  if (filter.tags && filter.tags.length > MAX_FILTER_TAGS) {
    throw new BadInputError({ message: `\`filter.tags\` holds at most ${MAX_FILTER_TAGS} tags; got ${filter.tags.length}.` });
  }
  for (const { key, value } of filter.tags ?? []) {
    checkLabel(key, 'A `filter.tags` key', MAX_TAG_KEY_LENGTH);
    checkLabel(value, `\`filter.tags\` "${key}"'s value`, MAX_TAG_VALUE_LENGTH, { emptyAllowed: true });
  }
  if (filter.from) assertDateInRange(filter.from, '`filter.from`');
  if (filter.to) assertDateInRange(filter.to, '`filter.to`');
  if (filter.from && filter.to && filter.from >= filter.to) {
    throw new BadInputError({ message: '`from` must be earlier than `to`.' });
  }
}
