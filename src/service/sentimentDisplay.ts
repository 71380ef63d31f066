// How a sentiment is shown: the original product's emoji and display line, e.g. `😄 LLM 情感判断: 正面`.
import type { Locale, SentimentLabel } from '../engine/index.js';

const EMOJI: Record<SentimentLabel, string> = { positive: '😄', negative: '😡', neutral: '😐' };
const DISPLAY_WORD: Record<Locale, Record<SentimentLabel, string>> = {
  zh: { positive: '正面', negative: '负面', neutral: '中性' },
  en: { positive: 'positive', negative: 'negative', neutral: 'neutral' },
};

export function sentimentEmoji(label: SentimentLabel): string {
  return EMOJI[label];
}

/** The original product's display line, e.g. `😄 LLM 情感判断: 正面`. */
export function sentimentDisplay(label: SentimentLabel, locale: Locale): string {
  const caption = locale === 'zh' ? 'LLM 情感判断' : 'LLM sentiment';
  return `${EMOJI[label]} ${caption}: ${DISPLAY_WORD[locale][label]}`;
}
