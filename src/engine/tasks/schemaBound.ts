// The longest answer an extraction schema allows, in tokens: what its maxTokens must hold for the answer always to end.
import type { ExtractSchema } from './definitions.js';

/**
 * A character inside a JSON string is at most 6 bytes (a `\uXXXX` escape; a UTF-8 character is at most 4), and a
 * token is at least one byte, so a character costs at most 6 tokens.
 */
const MAX_TOKENS_PER_STRING_CHAR = 6;
/** The grammar allows a newline and indentation (4 spaces per level) around values. */
const WHITESPACE_TOKENS_PER_LEVEL = 4;

/** What node-llama-cpp's JSON grammar writes after the value; the Extractor stops there (see Extractor). */
export const ANSWER_END = '\n\n\n\n';

/**
 * Tokens of the longest text the schema's grammar accepts, through ANSWER_END (and the end-of-generation token). node-llama-cpp's JSON
 * grammar bounds whitespace, so with every string's `maxLength` and every array's `maxItems` the bound is finite;
 * generation under the grammar then always ends with a complete, valid answer within it.
 */
export function maxAnswerTokens(schema: ExtractSchema): number {
  return tokensOf(schema, 0) + ANSWER_END.length + 1;
}

function tokensOf(schema: ExtractSchema, depth: number): number {
  const gap = 1 + WHITESPACE_TOKENS_PER_LEVEL * (depth + 1);
  if ('enum' in schema) return schema.enum.reduce((longest, value) => Math.max(longest, JSON.stringify(value).length), 0);
  switch (schema.type) {
    case 'string':
      return 2 + MAX_TOKENS_PER_STRING_CHAR * schema.maxLength;
    case 'boolean':
      return 'false'.length;
    case 'null':
      return 'null'.length;
    case 'array':
      // Brackets, then each item with the comma and whitespace before it.
      return 2 + gap + schema.maxItems * (tokensOf(schema.items, depth + 1) + 1 + gap);
    case 'object':
      return (
        2 +
        gap +
        Object.entries(schema.properties).reduce(
          (sum, [key, value]) => sum + JSON.stringify(key).length + 2 + tokensOf(value, depth + 1) + 1 + gap,
          0,
        )
      );
  }
}
