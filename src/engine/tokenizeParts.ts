// Turns prompt parts into tokens: control tokens are honoured only in our own (trusted) text.
import type { LlamaModel, Token } from 'node-llama-cpp';
import type { PromptPart } from './prompts.js';

export function tokenizeParts(model: LlamaModel, parts: readonly PromptPart[]): Token[] {
  const tokens: Token[] = [];
  for (const part of parts) {
    if (part.text.length === 0) continue;
    // `false` keeps `<|im_start|>` typed by a user as plain text instead of a control token.
    for (const token of model.tokenize(part.text, part.trusted)) tokens.push(token);
  }
  return tokens;
}

/** A user's text alone, tokenized once per call and shared by every task the call runs (special tokens off). */
export function tokenizeText(model: LlamaModel, text: string): Token[] {
  return tokenizeParts(model, [{ text, trusted: false }]);
}
