// The tiny model's vocabulary: 256 byte tokens, merges learned from a small corpus, ChatML control tokens.
import { BYTE_TO_CHAR, BYTE_VOCABULARY_ORDER, toByteLevel } from './byteLevel.js';
import { learnMerges, type WeightedWord } from './learnMerges.js';
import { CAPITALISED_WORDS, CHINESE_WORDS, ENGLISH_WORDS, FRAGMENTS, LABEL_WORDS } from './tinyCorpus.js';
import { ChatMlToken, TokenType, type Vocabulary } from './vocabulary.js';

/** Enough merges for common words to become whole tokens while the file stays tiny. */
const MAX_MERGES = 400;

/** Weight of the most frequent word; the rest follow Zipf's law below it. */
const TOP_WEIGHT = 1000;

let cached: Vocabulary | undefined;

/** Builds (once per process) the tiny vocabulary; it depends on no seed. */
export function tinyVocabulary(): Vocabulary {
  cached ??= buildTinyVocabulary();
  return cached;
}

function buildTinyVocabulary(): Vocabulary {
  const merges = learnMerges(corpus(), MAX_MERGES);
  const tokens = BYTE_VOCABULARY_ORDER.map((byte) => BYTE_TO_CHAR[byte]!);
  const known = new Set(tokens);
  for (const [left, right] of merges) {
    // Two different merges can spell the same token; llama.cpp requires unique token texts.
    const token = left + right;
    if (!known.has(token)) {
      known.add(token);
      tokens.push(token);
    }
  }

  const normalCount = tokens.length;
  const endOfTextId = tokens.push(ChatMlToken.END_OF_TEXT) - 1;
  tokens.push(ChatMlToken.IM_START);
  const imEndId = tokens.push(ChatMlToken.IM_END) - 1;

  const tokenTypes = new Int32Array(tokens.length).fill(TokenType.NORMAL);
  tokenTypes.fill(TokenType.CONTROL, normalCount);

  return {
    tokens,
    tokenTypes,
    merges: merges.map(([left, right]) => `${left} ${right}`),
    bosId: endOfTextId,
    eosId: imEndId,
    padId: endOfTextId,
  };
}

function corpus(): WeightedWord[] {
  const zipf = (rank: number): number => Math.max(2, Math.round(TOP_WEIGHT / (rank + 2)));
  return [
    ...LABEL_WORDS.map((word): WeightedWord => [toByteLevel(word), TOP_WEIGHT]),
    ...ENGLISH_WORDS.map((word, rank): WeightedWord => [toByteLevel(` ${word}`), zipf(rank)]),
    ...CAPITALISED_WORDS.map((word, rank): WeightedWord => [toByteLevel(word), zipf(rank * 4)]),
    ...FRAGMENTS.map((word, rank): WeightedWord => [toByteLevel(word), zipf(rank * 4)]),
    ...CHINESE_WORDS.map((word, rank): WeightedWord => [toByteLevel(word), zipf(rank * 4)]),
  ];
}
