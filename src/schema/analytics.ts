// Statistics for analysts — `sentimentStats` and `taskStats`: totals and a time series, aggregated in SQL over every
// stored result.
import type { StatsFilter } from '../service/analytics.js';
import type { SentimentSeriesPoint, SentimentStats as Stats } from '../service/sentimentStats.js';
import { builder } from './builder.js';

export const TimeBucketEnum = builder.enumType('TimeBucket', {
  values: { HOUR: { value: 'hour' }, DAY: { value: 'day' }, WEEK: { value: 'week' }, MONTH: { value: 'month' } } as const,
  description: 'UTC buckets; weeks start on Monday.',
});

const SentimentSourceEnum = builder.enumType('SentimentSource', {
  values: { CHAT: { value: 'chat' }, QUERY: { value: 'query' } } as const,
  description: 'CHAT: classified user messages. QUERY: results of the sentiment/sentiments queries.',
});

export const StatsFilterInput = builder.inputType('SentimentStatsFilter', {
  fields: (t) => ({
    from: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', description: 'Exclusive.' }),
    conversationId: t.id(),
    source: t.field({ type: SentimentSourceEnum }),
  }),
});

const SentimentBucket = builder.objectRef<SentimentSeriesPoint>('SentimentBucket').implement({
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    total: t.exposeInt('total'),
    positive: t.exposeInt('positive'),
    negative: t.exposeInt('negative'),
    neutral: t.exposeInt('neutral'),
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

const TaskStats = builder
  .objectRef<{
    task: string;
    total: number;
    averageConfidence: number;
    labels: { label: string; count: number }[];
    series: { start: Date; total: number; labels: { label: string; count: number }[] }[];
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
    }),
  });

/** The filter as the service takes it: the GraphQL ID as a string. */
function statsFilterOf(filter: { conversationId?: string | number | null } | null | undefined): StatsFilter {
  return { ...filter, conversationId: filter?.conversationId == null ? null : String(filter.conversationId) };
}

builder.queryFields((t) => ({
  sentimentStats: t.field({
    type: SentimentStats,
    args: {
      filter: t.arg({ type: StatsFilterInput }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Defaults to DAY.' }),
    },
    resolve: (_, { filter, bucket }, { services, owner }) =>
      services.analytics.sentimentStats(owner, statsFilterOf(filter), bucket ?? 'day'),
  }),
  taskStats: t.field({
    type: TaskStats,
    description:
      "A classify task's counts per label and average confidence, in total and per bucket (the caller's records only).",
    args: {
      task: t.arg.string({ required: true }),
      filter: t.arg({ type: StatsFilterInput }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Defaults to DAY.' }),
    },
    resolve: async (_, { task, filter, bucket }, { services, owner }) => ({
      task,
      ...(await services.analytics.taskStats(task, owner, statsFilterOf(filter), bucket ?? 'day')),
    }),
  }),
}));
