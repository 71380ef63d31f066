// Statistics for analysts — `sentimentStats` and `taskStats`: totals and a time series, aggregated in SQL over every
// stored result.
import type { TaskStatsGroup as TaskStatsGroupShape } from '../db/index.js';
import type { StatsFilter } from '../service/analytics.js';
import type {
  SentimentSeriesPoint,
  SentimentStatsGroup as SentimentStatsGroupShape,
  SentimentStats as Stats,
} from '../service/sentimentStats.js';
import { TagInput } from './analysisJob.js';
import { builder } from './builder.js';

export const TimeBucketEnum = builder.enumType('TimeBucket', {
  values: { HOUR: { value: 'hour' }, DAY: { value: 'day' }, WEEK: { value: 'week' }, MONTH: { value: 'month' } } as const,
  description: 'UTC buckets; weeks start on Monday.',
});

const SentimentSourceEnum = builder.enumType('SentimentSource', {
  values: { CHAT: { value: 'chat' }, QUERY: { value: 'query' }, JOB: { value: 'job' } } as const,
  description: 'CHAT: classified user messages. QUERY: results of the queries on texts. JOB: items of analysis jobs.',
});

export const StatsFilterInput = builder.inputType('SentimentStatsFilter', {
  fields: (t) => ({
    from: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', description: 'Exclusive.' }),
    conversationId: t.id(),
    source: t.field({ type: SentimentSourceEnum }),
    jobId: t.id({ description: "Only this analysis job's items." }),
    tags: t.field({ type: [TagInput], description: 'Only job items carrying every one of these tags (at most 8).' }),
  }),
});

const StatsGroupByInput = builder.inputType('StatsGroupBy', {
  description: 'Count per value of this tag of the job items, e.g. per product: `groups`.',
  fields: (t) => ({ tag: t.string({ required: true }) }),
});

const groupsDescription =
  'With groupBy: one group per value of the tag, most results first; value null gathers results without the tag.';

const SentimentBucket = builder.objectRef<SentimentSeriesPoint>('SentimentBucket').implement({
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    total: t.exposeInt('total'),
    positive: t.exposeInt('positive'),
    negative: t.exposeInt('negative'),
    neutral: t.exposeInt('neutral'),
  }),
});

const SentimentStatsGroup = builder.objectRef<SentimentStatsGroupShape>('SentimentStatsGroup').implement({
  fields: (t) => ({
    value: t.exposeString('value', { nullable: true }),
    total: t.exposeInt('total'),
    positive: t.exposeInt('positive'),
    negative: t.exposeInt('negative'),
    neutral: t.exposeInt('neutral'),
    averageConfidence: t.exposeFloat('averageConfidence'),
  }),
});

const SentimentStats = builder.objectRef<Stats>('SentimentStats').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    positive: t.exposeInt('positive'),
    negative: t.exposeInt('negative'),
    neutral: t.exposeInt('neutral'),
    averageConfidence: t.exposeFloat('averageConfidence', { description: '0 when there are no records.' }),
    series: t.expose('series', { type: [SentimentBucket], description: 'Non-empty buckets, oldest first.' }),
    groups: t.field({
      type: [SentimentStatsGroup],
      nullable: true,
      description: groupsDescription,
      resolve: (stats) => stats.groups ?? null,
    }),
  }),
});

const LabelCount = builder.objectRef<{ label: string; count: number }>('LabelCount').implement({
  fields: (t) => ({ label: t.exposeString('label'), count: t.exposeInt('count') }),
});

const TaskStatsBucket = builder
  .objectRef<{ start: Date; total: number; labels: { label: string; count: number }[] }>('TaskStatsBucket')
  .implement({
    fields: (t) => ({
      start: t.expose('start', { type: 'DateTime' }),
      total: t.exposeInt('total'),
      labels: t.field({ type: [LabelCount], description: 'Most frequent first.', resolve: (bucket) => bucket.labels }),
    }),
  });

const TaskStatsGroup = builder.objectRef<TaskStatsGroupShape>('TaskStatsGroup').implement({
  fields: (t) => ({
    value: t.exposeString('value', { nullable: true }),
    total: t.exposeInt('total'),
    averageConfidence: t.exposeFloat('averageConfidence'),
    labels: t.field({ type: [LabelCount], description: 'Most frequent first.', resolve: (group) => group.labels }),
  }),
});

const TaskStats = builder
  .objectRef<{
    task: string;
    total: number;
    averageConfidence: number;
    labels: { label: string; count: number }[];
    series: { start: Date; total: number; labels: { label: string; count: number }[] }[];
    groups?: TaskStatsGroupShape[];
  }>('TaskStats')
  .implement({
    fields: (t) => ({
      task: t.exposeString('task'),
      total: t.exposeInt('total'),
      averageConfidence: t.exposeFloat('averageConfidence', { description: '0 when there are no records.' }),
      labels: t.field({
        type: [LabelCount],
        description: 'Labels that occurred, most frequent first.',
        resolve: (stats) => stats.labels,
      }),
      series: t.field({
        type: [TaskStatsBucket],
        description: 'Non-empty buckets, oldest first.',
        resolve: (stats) => stats.series,
      }),
      groups: t.field({
        type: [TaskStatsGroup],
        nullable: true,
        description: groupsDescription,
        resolve: (stats) => stats.groups ?? null,
      }),
    }),
  });

/** The filter as the service takes it: the GraphQL IDs as strings. */
function statsFilterOf(
  filter: { conversationId?: string | number | null; jobId?: string | number | null } | null | undefined,
): StatsFilter {
  return {
    ...filter,
    conversationId: filter?.conversationId == null ? null : String(filter.conversationId),
    jobId: filter?.jobId == null ? null : String(filter.jobId),
  };
}

builder.queryFields((t) => ({
  sentimentStats: t.field({
    type: SentimentStats,
    args: {
      filter: t.arg({ type: StatsFilterInput }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Defaults to DAY.' }),
      groupBy: t.arg({ type: StatsGroupByInput }),
    },
    resolve: (_, { filter, bucket, groupBy }, { services, owner }) =>
      services.analytics.sentimentStats(owner, statsFilterOf(filter), bucket ?? 'day', groupBy),
  }),
  taskStats: t.field({
    type: TaskStats,
    description:
      "A classify task's counts per label and average confidence, in total and per bucket (the caller's records only).",
    args: {
      task: t.arg.string({ required: true }),
      filter: t.arg({ type: StatsFilterInput }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Defaults to DAY.' }),
      groupBy: t.arg({ type: StatsGroupByInput }),
    },
    resolve: async (_, { task, filter, bucket, groupBy }, { services, owner }) => ({
      task,
      ...(await services.analytics.taskStats(task, owner, statsFilterOf(filter), bucket ?? 'day', groupBy)),
    }),
  }),
}));
