// A chat turn's prompt: system prompt, as many recent turns as fit, the new message and room for the reply.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { BadInputError } from '../errors.js';
import {
  ASSISTANT_REPLY_LEAD,
  chatSystemPrompt,
  chatTurnPrompt,
  type ChatTurn,
  type Locale,
} from '../prompts.js';
import { tokenizeParts } from '../tokenizeParts.js';

export interface ChatPromptRequest {
  history: readonly ChatTurn[];
  message: string;
  locale: Locale;
  /** Lines for the system prompt from the labels the chat's tasks gave the message (trusted: from task definitions). */
  steering: readonly string[];
}

export interface ChatPrompt {
  /** The whole prompt. */
  tokens: Token[];
  /** Its system prompt: the prefix every conversation of its language and steering lines shares. */
  system: Token[];
  /** The system prompt's name among the saved prefixes (see `chatSystemPrefix`). */
  systemKey: string;
}

/**
 * A chat system prompt as a saved prefix: its tokens, and its name among the saved prefixes (task prefixes are named
 * `<task>:<locale>`), one per language and set of steering lines.
 */
export function chatSystemPrefix(
  model: LlamaModel,
  locale: Locale,
  steering: readonly string[] = [],
): Pick<ChatPrompt, 'system' | 'systemKey'> {
  return {
    system: tokenizeParts(model, chatSystemPrompt(locale, steering)),
    systemKey: `(chat system prompt):${JSON.stringify([locale, ...steering])}`,
  };
}

/**
 * Whole turns are dropped oldest first; the system prompt and the new message always stay, and the reply's
 * `maxTokens` always fits, so the context never has to shift (which would erase the instructions).
 */
export function buildChatPrompt(
  model: LlamaModel,
  request: ChatPromptRequest,
  contextSize: number,
  maxTokens: number,
): ChatPrompt {
  const { system: head, systemKey } = chatSystemPrefix(model, request.locale, request.steering);
  const tail = tokenizeParts(model, [
    ...chatTurnPrompt({ role: 'user', content: request.message }),
    ...ASSISTANT_REPLY_LEAD,
  ]);
  const budget = contextSize - maxTokens - head.length - tail.length;
  if (budget < 0) {
    throw new BadInputError({
      message:
        `The message needs ${head.length + tail.length} prompt tokens plus ${maxTokens} for the reply, ` +
        `more than the ${contextSize}-token context; shorten it or lower maxTokens.`,
    });
  }
  const turns = request.history.map((turn) => tokenizeParts(model, chatTurnPrompt(turn)));
  let kept = turns.length;
  let used = 0;
  while (kept > 0 && used + turns[kept - 1]!.length <= budget) {
    used += turns[kept - 1]!.length;
    kept -= 1;
  }
  // A history that would open with a reply to a dropped question confuses the model; drop that reply too.
  if (kept < turns.length && request.history[kept]?.role === 'assistant') kept += 1;
  return {
    tokens: [...head, ...turns.slice(kept).flat(), ...tail],
    system: head,
    systemKey,
  };
}
