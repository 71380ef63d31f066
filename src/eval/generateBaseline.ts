// The original product's sentiment method, kept as the evaluation baseline: a strict instruction, free (greedy) generation, then parsing.
import { SENTIMENT_DEFINITION, SENTIMENT_LABELS, type Locale, type PromptPart, type SentimentLabel } from '../engine/index.js';
import type { BaselineEngine, SentimentAnswer } from './classifier.js';

/** Enough for the format the instruction asks for (`😄 LLM 情感判断: 正面`); the rest would be the model rambling. */
export const BASELINE_MAX_TOKENS = 20;

/** The original prompt, whole: no saved instructions, so every call evaluates all of it. Its wording follows the original write-up. */
export function baselineSentimentPrompt(locale: Locale, text: string): PromptPart[] {
  const instruction =
    locale === 'zh'
      ? '[SYSTEM] 你是一个冷酷的情感分析师，只关注情绪极性。请判断以下内容的情绪倾向，并严格按格式输出：' +
        '😄 LLM 情感判断: 正面 或 😡 LLM 情感判断: 负面 或 😐 LLM 情感判断: 中性。禁止解释、禁止扩展、禁止换行。[/SYSTEM]\n'
      : '[SYSTEM] You are a cold sentiment analyst who only cares about emotional polarity. Judge the text below and ' +
        'answer strictly in the format: 😄 LLM sentiment: positive or 😡 LLM sentiment: negative or 😐 LLM sentiment: neutral. ' +
        'No explanation, no extra words, no line breaks. [/SYSTEM]\n';
  return [
    { text: `<|im_start|>user\n${instruction}`, trusted: true },
    { text, trusted: false },
    { text: '<|im_end|>\n<|im_start|>assistant\n', trusted: true },
  ];
}

/** Finds the label in a baseline answer: the first label word mentioned (the task's own spelling, either language) wins. */
export function parseBaselineAnswer(answer: string): SentimentLabel | undefined {
  const lowered = answer.toLowerCase();
  let best: { label: SentimentLabel; index: number } | undefined;
  for (const { name, spellings } of SENTIMENT_DEFINITION.labels) {
    for (const word of [spellings.zh[0]!, spellings.en[0]!]) {
      const index = lowered.indexOf(word);
      if (index >= 0 && (!best || index < best.index)) best = { label: name as SentimentLabel, index };
    }
  }
  return best?.label;
}

/** One text by the baseline: a parsed label scores 1, an unparseable answer says nothing, which is what NEUTRAL means here. */
export async function classifyByGenerating(
  engine: BaselineEngine,
  text: string,
  options: { locale: Locale; signal?: AbortSignal },
): Promise<SentimentAnswer> {
  const completion = await engine.complete(baselineSentimentPrompt(options.locale, text), {
    maxTokens: BASELINE_MAX_TOKENS,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const parsed = parseBaselineAnswer(completion.text);
  const scores = Object.fromEntries(
    SENTIMENT_LABELS.map((label) => [label, parsed === undefined ? 1 / SENTIMENT_LABELS.length : label === parsed ? 1 : 0]),
  ) as Record<SentimentLabel, number>;
  const label = parsed ?? 'neutral';
  return {
    label,
    confidence: scores[label],
    scores,
    latencyMs: completion.latencyMs,
    promptTokens: completion.promptTokens,
    parsed: parsed !== undefined,
    rawAnswer: completion.text,
  };
}
