// Enums shared by several schema files; GraphQL shows upper-case names, resolvers see the stored lower-case values.
import { builder } from './builder.js';

export const SentimentLabelEnum = builder.enumType('SentimentLabel', {
  values: { POSITIVE: { value: 'positive' }, NEGATIVE: { value: 'negative' }, NEUTRAL: { value: 'neutral' } } as const,
});

export const LocaleEnum = builder.enumType('Locale', {
  description: 'Language of prompts and display lines. Where it is optional, it is detected from the text (Chinese script → ZH, else EN).',
  values: { ZH: { value: 'zh' }, EN: { value: 'en' } } as const,
});

export const MessageRoleEnum = builder.enumType('MessageRole', {
  values: { USER: { value: 'user' }, ASSISTANT: { value: 'assistant' } } as const,
});

export const MessageStatusEnum = builder.enumType('MessageStatus', {
  values: { COMPLETE: { value: 'complete' }, ABORTED: { value: 'aborted' }, FAILED: { value: 'failed' } } as const,
});

export const FinishReasonEnum = builder.enumType('FinishReason', {
  values: { STOP: { value: 'stop' }, LENGTH: { value: 'length' }, ABORTED: { value: 'aborted' } } as const,
});
