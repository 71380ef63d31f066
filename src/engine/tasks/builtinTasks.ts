// The tasks every service has: sentiment (the original product's), intent and keywords. TASKS_FILE may redefine the last two.
import type { ClassifyTaskDefinition, ExtractTaskDefinition, TaskSelection } from './definitions.js';

export const SENTIMENT_TASK_NAME = 'sentiment';
export type SentimentLabel = 'positive' | 'negative' | 'neutral';
export const SENTIMENT_LABELS: readonly SentimentLabel[] = ['positive', 'negative', 'neutral'];

/**
 * The original product's task, defined once: its prompt (the English answer is pre-filled up to "Sentiment:", so the
 * next token is the label with its leading space, one token in Qwen's BPE), labels, spellings and the reply's tone.
 */
export const SENTIMENT_DEFINITION: ClassifyTaskDefinition = {
  kind: 'classify',
  name: SENTIMENT_TASK_NAME,
  description: 'Emotional polarity of the text: positive, negative or neutral.',
  instruction: {
    en: "Classify the user's text as positive, negative or neutral.",
    zh: '判断用户输入内容的情绪倾向：正面、负面或中性。',
  },
  prompt: {
    system: {
      zh:
        '你是一个冷酷的情感分析师，只关注情绪极性。判断用户输入内容的情绪倾向，' +
        '只回答“正面”“负面”或“中性”中的一个词。禁止解释、禁止扩展、禁止换行。',
      en:
        'You are a cold, precise sentiment analyst who only cares about emotional polarity. ' +
        "Classify the user's text as positive, negative or neutral. Answer with exactly one word, no explanation.",
    },
    answerLead: { zh: '', en: 'Sentiment:' },
  },
  labels: [
    {
      name: 'positive',
      description: { en: 'happy, pleased, grateful', zh: '开心、满意、感激' },
      spellings: { en: ['positive', 'Positive'], zh: ['正面'] },
      steer: { en: 'The user is in a good mood: share their joy sincerely.', zh: '用户此刻情绪积极，请真诚地分享这份喜悦。' },
    },
    {
      name: 'negative',
      description: { en: 'upset, angry, disappointed', zh: '难过、生气、失望' },
      spellings: { en: ['negative', 'Negative'], zh: ['负面'] },
      steer: {
        en: 'The user seems upset right now: acknowledge their feelings first, then answer gently and briefly.',
        zh: '用户此刻情绪低落或不满，请先体谅和安抚，再温和、简洁地回应。',
      },
    },
    {
      name: 'neutral',
      description: { en: 'neither', zh: '两者都不是' },
      spellings: { en: ['neutral', 'Neutral'], zh: ['中性'] },
    },
  ],
};

/** What a message to an assistant wants; each label but `other` steers the reply. */
export const INTENT_DEFINITION: ClassifyTaskDefinition = {
  kind: 'classify',
  name: 'intent',
  description: 'What a message to an assistant wants: a question, a request, a complaint, praise, a greeting, or other.',
  instruction: {
    en: "Decide what the user's message to an assistant wants.",
    zh: '判断用户发给助手的这条消息的意图。',
  },
  labels: [
    {
      name: 'question',
      description: { en: 'asks for information or an explanation', zh: '询问信息或解释' },
      spellings: { en: ['question', 'Question'], zh: ['提问'] },
      steer: { en: 'The user asked a question: answer it directly first.', zh: '用户提出了问题：先直接回答。' },
    },
    {
      name: 'request',
      description: { en: 'asks the assistant to do something', zh: '请助手做某件事' },
      spellings: { en: ['request', 'Request'], zh: ['请求'] },
      steer: {
        en: 'The user asked for something: do it, or say plainly what you can do.',
        zh: '用户提出了请求：直接去做，或说明你能做什么。',
      },
    },
    {
      name: 'complaint',
      description: { en: 'expresses dissatisfaction or reports a problem', zh: '表达不满或反映问题' },
      spellings: { en: ['complaint', 'Complaint'], zh: ['投诉'] },
      steer: {
        en: 'The user is complaining: apologise first, then offer concrete help.',
        zh: '用户在投诉：先致歉，再给出具体的帮助。',
      },
    },
    {
      name: 'praise',
      description: { en: 'expresses thanks or satisfaction', zh: '表达感谢或满意' },
      spellings: { en: ['praise', 'Praise'], zh: ['表扬'] },
      steer: { en: 'The user is pleased with you: thank them briefly.', zh: '用户对你表示满意：简短地致谢。' },
    },
    {
      name: 'greeting',
      description: { en: 'says hello or goodbye, or makes small talk', zh: '打招呼、告别或闲聊' },
      spellings: { en: ['greeting', 'Greeting'], zh: ['问候'] },
      steer: { en: 'The user is greeting you: greet them back warmly and briefly.', zh: '用户在打招呼：热情而简短地回应。' },
    },
    {
      name: 'other',
      description: { en: 'anything else', zh: '其他情况' },
      spellings: { en: ['other', 'Other'], zh: ['其他'] },
    },
  ],
};

/** Up to five key phrases, in the text's own language. */
export const KEYWORDS_DEFINITION: ExtractTaskDefinition = {
  kind: 'extract',
  name: 'keywords',
  description: "Up to 5 key phrases of the text, in the text's language.",
  instruction: {
    en: "List up to 5 key phrases of the user's text, in the text's own language, as a JSON array of strings.",
    zh: '从用户的文本中提取最多 5 个关键词或短语，使用原文的语言，以 JSON 字符串数组输出。',
  },
  schema: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 32 }, maxItems: 5 },
};

export const BUILTIN_TASKS = [SENTIMENT_DEFINITION, INTENT_DEFINITION, KEYWORDS_DEFINITION] as const;

/** Built-in tasks a TASKS_FILE may not redefine. */
export const FIXED_TASKS: readonly string[] = [SENTIMENT_TASK_NAME];

export const DEFAULT_SELECTION: TaskSelection = { analyze: [SENTIMENT_TASK_NAME, 'intent', 'keywords'] };
