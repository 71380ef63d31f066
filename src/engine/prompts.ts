// Every prompt the engine sends to the model, in Chinese and English, as ChatML parts.

export type Locale = 'zh' | 'en';
export type SentimentLabel = 'positive' | 'negative' | 'neutral';
export const SENTIMENT_LABELS: readonly SentimentLabel[] = ['positive', 'negative', 'neutral'];

/**
 * A piece of prompt text. `trusted` text is ours and may contain ChatML control tokens;
 * user text is tokenized with special tokens off so `<|im_start|>` typed by a user stays plain text.
 */
export interface PromptPart {
  text: string;
  trusted: boolean;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

const trusted = (text: string): PromptPart => ({ text, trusted: true });
const untrusted = (text: string): PromptPart => ({ text, trusted: false });

const SENTIMENT_SYSTEM: Record<Locale, string> = {
  zh:
    '你是一个冷酷的情感分析师，只关注情绪极性。判断用户输入内容的情绪倾向，' +
    '只回答“正面”“负面”或“中性”中的一个词。禁止解释、禁止扩展、禁止换行。',
  en:
    'You are a cold, precise sentiment analyst who only cares about emotional polarity. ' +
    "Classify the user's text as positive, negative or neutral. Answer with exactly one word, no explanation.",
};

/**
 * The assistant's answer is pre-filled up to the label, so the very next token is the verdict.
 * Chinese needs no lead: the instruction already makes the label the first word of the answer.
 */
const SENTIMENT_ANSWER_LEAD: Record<Locale, string> = { zh: '', en: 'Sentiment:' };

/**
 * The spellings of each label that may follow the answer lead; a label's score sums its spellings.
 * Qwen's BPE keeps the English leading space inside the token (` positive` is one token).
 */
export const LABEL_CONTINUATIONS: Record<Locale, Record<SentimentLabel, readonly string[]>> = {
  zh: { positive: ['正面'], negative: ['负面'], neutral: ['中性'] },
  en: {
    positive: [' positive', ' Positive'],
    negative: [' negative', ' Negative'],
    neutral: [' neutral', ' Neutral'],
  },
};

/** Constant part of the sentiment prompt: kept evaluated in the KV cache between calls. */
export function sentimentPrefix(locale: Locale): PromptPart[] {
  return [trusted(`<|im_start|>system\n${SENTIMENT_SYSTEM[locale]}<|im_end|>\n<|im_start|>user\n`)];
}

/** Per-call part of the sentiment prompt: the user's text, then the pre-filled answer lead. */
export function sentimentQuery(locale: Locale, text: string): PromptPart[] {
  return [untrusted(text), trusted(`<|im_end|>\n<|im_start|>assistant\n${SENTIMENT_ANSWER_LEAD[locale]}`)];
}

/**
 * The original product's method, kept as a baseline: a strict instruction and free generation that is parsed.
 * Its wording follows the original write-up.
 */
export function baselineSentimentPrompt(locale: Locale, text: string): PromptPart[] {
  const instruction =
    locale === 'zh'
      ? '[SYSTEM] 你是一个冷酷的情感分析师，只关注情绪极性。请判断以下内容的情绪倾向，并严格按格式输出：' +
        '😄 LLM 情感判断: 正面 或 😡 LLM 情感判断: 负面 或 😐 LLM 情感判断: 中性。禁止解释、禁止扩展、禁止换行。[/SYSTEM]\n'
      : '[SYSTEM] You are a cold sentiment analyst who only cares about emotional polarity. Judge the text below and ' +
        'answer strictly in the format: 😄 LLM sentiment: positive or 😡 LLM sentiment: negative or 😐 LLM sentiment: neutral. ' +
        'No explanation, no extra words, no line breaks. [/SYSTEM]\n';
  return [trusted(`<|im_start|>user\n${instruction}`), untrusted(text), trusted('<|im_end|>\n<|im_start|>assistant\n')];
}

const CHAT_SYSTEM: Record<Locale, string> = {
  zh: '你现在是一个富有同理心的AI助手。',
  en: 'You are an empathetic AI assistant.',
};

/** The improvement over the original: the detected mood of the new message sets the reply's tone. */
export const TONE_HINT: Record<Locale, Record<SentimentLabel, string>> = {
  zh: {
    negative: '用户此刻情绪低落或不满，请先体谅和安抚，再温和、简洁地回应。',
    positive: '用户此刻情绪积极，请真诚地分享这份喜悦。',
    neutral: '',
  },
  en: {
    negative: 'The user seems upset right now: acknowledge their feelings first, then answer gently and briefly.',
    positive: 'The user is in a good mood: share their joy sincerely.',
    neutral: '',
  },
};

/**
 * The chat's system prompt with the steering lines of the tasks run on the new message (the sentiment's tone
 * hint, an intent's "apologise first"…). The lines come from task definitions, never from user text.
 */
export function chatSystemPrompt(locale: Locale, steering: readonly string[] = []): PromptPart[] {
  const separator = locale === 'zh' ? '' : ' ';
  const lines = steering.filter((line) => line !== '');
  return [trusted(`<|im_start|>system\n${[CHAT_SYSTEM[locale], ...lines].join(separator)}<|im_end|>\n`)];
}

/** A task prompt's constant part: its system text (trusted: it comes from a task definition), then the user turn's start. */
export function taskPrefix(system: string): PromptPart[] {
  return [trusted(`<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`)];
}

/** A task prompt's per-call part: the user's text, then the pre-filled start of the answer. */
export function taskQuery(text: string, answerLead: string): PromptPart[] {
  return [untrusted(text), trusted(`<|im_end|>\n<|im_start|>assistant\n${answerLead}`)];
}

export function chatTurnPrompt(turn: ChatTurn): PromptPart[] {
  return [trusted(`<|im_start|>${turn.role}\n`), untrusted(turn.content), trusted('<|im_end|>\n')];
}

export const ASSISTANT_REPLY_LEAD: PromptPart[] = [trusted('<|im_start|>assistant\n')];

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

/** Finds the label in a baseline answer; the first label word mentioned wins, none gives undefined. */
export function parseBaselineAnswer(answer: string): SentimentLabel | undefined {
  const lowered = answer.toLowerCase();
  let best: { label: SentimentLabel; index: number } | undefined;
  for (const label of SENTIMENT_LABELS) {
    for (const word of [DISPLAY_WORD.zh[label], DISPLAY_WORD.en[label]]) {
      const index = lowered.indexOf(word);
      if (index >= 0 && (!best || index < best.index)) best = { label, index };
    }
  }
  return best?.label;
}
