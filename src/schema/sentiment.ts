// The Sentiment type and the `sentiment` / `sentiments` queries (every result is stored with source QUERY).
import type { SentimentView } from '../service/views.js';
import { builder } from './builder.js';
import { LocaleEnum, SentimentLabelEnum } from './enums.js';

const SentimentScores = builder.objectRef<SentimentView['scores']>('SentimentScores').implement({
  description: 'Probabilities of the three labels; they sum to 1.',
  fields: (t) => ({
    positive: t.exposeFloat('positive'),
    negative: t.exposeFloat('negative'),
    neutral: t.exposeFloat('neutral'),
  }),
});

export const Sentiment = builder.objectRef<SentimentView>('Sentiment').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    label: t.expose('label', { type: SentimentLabelEnum }),
    confidence: t.exposeFloat('confidence', { description: 'Probability of the chosen label.' }),
    scores: t.expose('scores', { type: SentimentScores }),
    emoji: t.exposeString('emoji'),
    display: t.exposeString('display', { description: 'The original display line, e.g. "😄 LLM 情感判断: 正面".' }),
    locale: t.expose('locale', { type: LocaleEnum }),
    latencyMs: t.exposeFloat('latencyMs', { description: 'Engine time for this text, queue wait excluded.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  sentiment: t.field({
    type: Sentiment,
    description: 'Classifies one text. The result is stored for analytics (source QUERY).',
    args: {
      text: t.arg.string({ required: true }),
      locale: t.arg({ type: LocaleEnum }),
    },
    resolve: async (_, { text, locale }, { services, operation }) =>
      (await services.analysis.sentiments([text], locale ?? null, operation))[0]!,
  }),
  sentiments: t.field({
    type: [Sentiment],
    description: 'Classifies up to 32 texts in one engine job, in order. Each result is stored (source QUERY).',
    args: {
      texts: t.arg.stringList({ required: true }),
      locale: t.arg({ type: LocaleEnum }),
    },
    resolve: (_, { texts, locale }, { services, operation }) => services.analysis.sentiments(texts, locale ?? null, operation),
  }),
}));
