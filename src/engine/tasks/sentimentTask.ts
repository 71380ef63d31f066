// The built-in sentiment task for the classifier: the original product's prompt and labels, unchanged.
import { LABEL_CONTINUATIONS, SENTIMENT_LABELS, sentimentPrefix, sentimentQuery, type Locale } from '../prompts.js';
import type { ClassifierPrompt, ClassifierTask } from './Classifier.js';

export const SENTIMENT_TASK_NAME = 'sentiment';

function promptFor(locale: Locale): ClassifierPrompt {
  return {
    prefix: sentimentPrefix(locale),
    query: (text) => sentimentQuery(locale, text),
    spellings: LABEL_CONTINUATIONS[locale],
  };
}

export const SENTIMENT_TASK: ClassifierTask = {
  name: SENTIMENT_TASK_NAME,
  labels: SENTIMENT_LABELS,
  prompts: { zh: promptFor('zh'), en: promptFor('en') },
};
