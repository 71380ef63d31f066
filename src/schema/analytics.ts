// `sentimentStats` for analysts: totals and a time series, aggregated in SQL over every stored result.
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

builder.queryField('sentimentStats', (t) =>
  t.field({
    type: SentimentStats,
    args: {
      filter: t.arg({ type: StatsFilterInput }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Defaults to DAY.' }),
    },
    resolve: (_, { filter, bucket }, { services, owner }) =>
      services.sentimentStats(
        owner,
        { ...filter, conversationId: filter?.conversationId == null ? null : String(filter.conversationId) },
        bucket ?? 'day',
      ),
  }),
);
