// The ChatML framing of every prompt the engine sends (the chat's own wording too); a task's wording is in its definition.

export type Locale = 'zh' | 'en';

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

const CHAT_SYSTEM: Record<Locale, string> = {
  zh: '你现在是一个富有同理心的AI助手。',
  en: 'You are an empathetic AI assistant.',
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

/** What follows the user's text in a task prompt: the end of the user turn, then the pre-filled start of the answer. */
export function taskSuffix(answerLead: string): PromptPart[] {
  return [trusted(`<|im_end|>\n<|im_start|>assistant\n${answerLead}`)];
}

export function chatTurnPrompt(turn: ChatTurn): PromptPart[] {
  return [trusted(`<|im_start|>${turn.role}\n`), untrusted(turn.content), trusted('<|im_end|>\n')];
}

export const ASSISTANT_REPLY_LEAD: PromptPart[] = [trusted('<|im_start|>assistant\n')];
