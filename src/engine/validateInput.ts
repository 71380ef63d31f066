// Refuses input the engine cannot serve, with messages a client developer can act on.
import { BadInputError } from './errors.js';
import type { SamplingOptions } from './chat/generateReply.js';
import type { ChatTurn } from './prompts.js';

/** Beyond this a reply would not fit any context we create; also bounds a client's demand on the engine. */
export const MAX_REPLY_TOKENS = 4096;
const MAX_TEMPERATURE = 2;

/**
 * Characters are Unicode code points: an emoji or a rare CJK ideograph outside the BMP counts once, not as the two
 * UTF-16 units JavaScript's `length` sees (a combining accent or a ZWJ in a sequence is a code point of its own).
 */
export function validateText(text: string, maxInputChars: number, what = 'text'): void {
  if (text.trim().length === 0) throw new BadInputError({ message: `The ${what} is empty.` });
  if (/\p{Cs}/u.test(text)) {
    throw new BadInputError({ message: `The ${what} contains a lone UTF-16 surrogate, which is not valid text.` });
  }
  // PostgreSQL's text cannot hold U+0000; refused on every database, so both store the same texts.
  const nul = text.indexOf('\u0000');
  if (nul !== -1) {
    const position = [...text.slice(0, nul)].length + 1;
    throw new BadInputError({
      message: `The ${what} contains U+0000 (NUL) at character ${position}, which cannot be stored; remove it.`,
    });
  }
  // Counting stops past the limit, so an enormous text costs no more than one at the limit.
  if (text.length > maxInputChars && codePointsUpTo(text, maxInputChars + 1) > maxInputChars) {
    throw new BadInputError({
      message: `The ${what} has more than ${maxInputChars} characters (Unicode code points), the limit.`,
    });
  }
}

function codePointsUpTo(text: string, limit: number): number {
  let count = 0;
  for (const _ of text) if (++count >= limit) break;
  return count;
}

export function validateTexts(texts: readonly string[], maxInputChars: number, maxBatchTexts: number): void {
  if (texts.length === 0) throw new BadInputError({ message: 'No texts were given.' });
  if (texts.length > maxBatchTexts) {
    throw new BadInputError({ message: `A batch holds at most ${maxBatchTexts} texts; got ${texts.length}.` });
  }
  texts.forEach((text, index) => validateText(text, maxInputChars, texts.length === 1 ? 'text' : `text #${index + 1}`));
}

export interface ChatRequestOptions {
  history: readonly ChatTurn[];
  message: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

/** Checks a chat request and returns its sampling options with defaults filled in. */
export function validateChatRequest(
  request: ChatRequestOptions,
  maxInputChars: number,
  contextSize: number,
  defaults: Omit<SamplingOptions, 'seed'>,
): SamplingOptions {
  validateText(request.message, maxInputChars, 'message');
  const maxTokens = request.maxTokens ?? Math.min(defaults.maxTokens, Math.floor(contextSize / 2));
  const replyLimit = Math.min(MAX_REPLY_TOKENS, contextSize - 1);
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > replyLimit) {
    throw new BadInputError({ message: `maxTokens must be an integer from 1 to ${replyLimit}; got ${maxTokens}.` });
  }
  const temperature = request.temperature ?? defaults.temperature;
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > MAX_TEMPERATURE) {
    throw new BadInputError({ message: `temperature must be between 0 and ${MAX_TEMPERATURE}; got ${temperature}.` });
  }
  const topP = request.topP ?? defaults.topP;
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1) {
    throw new BadInputError({ message: `topP must be greater than 0 and at most 1; got ${topP}.` });
  }
  if (request.seed !== undefined && (!Number.isSafeInteger(request.seed) || request.seed < 0)) {
    throw new BadInputError({ message: `seed must be a non-negative integer; got ${request.seed}.` });
  }
  for (const turn of request.history) {
    if (turn.content.length > maxInputChars * 4) {
      throw new BadInputError({ message: 'A history turn is far longer than any message the service accepts.' });
    }
  }
  return {
    maxTokens,
    temperature,
    topP,
    repeatPenalty: defaults.repeatPenalty,
    ...(request.seed === undefined ? {} : { seed: request.seed }),
  };
}
