// Learns byte-pair merges from weighted words, the way a BPE tokenizer is trained.

/** A pre-token in byte-level form (see byteLevel.ts) and how often it occurs. */
export type WeightedWord = readonly [word: string, weight: number];

/** A merge rule: the two tokens that join, in GGUF order of priority. */
export type Merge = readonly [left: string, right: string];

/** Pairs seen fewer times than this are noise, not worth a token. */
const MIN_PAIR_WEIGHT = 2;

/**
 * Repeatedly merges the heaviest adjacent pair (first seen wins a tie, so the result is
 * deterministic) until `maxMerges` rules exist or no pair is worth merging.
 */
export function learnMerges(words: readonly WeightedWord[], maxMerges: number): Merge[] {
  const symbolsOf = words.map(([word]) => Array.from(word));
  const merges: Merge[] = [];

  while (merges.length < maxMerges) {
    const pairWeights = new Map<string, number>();
    symbolsOf.forEach((symbols, index) => {
      const weight = words[index]![1];
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair = `${symbols[i]} ${symbols[i + 1]}`;
        pairWeights.set(pair, (pairWeights.get(pair) ?? 0) + weight);
      }
    });

    let best: string | undefined;
    let bestWeight = MIN_PAIR_WEIGHT - 1;
    for (const [pair, weight] of pairWeights) {
      if (weight > bestWeight) {
        best = pair;
        bestWeight = weight;
      }
    }
    if (best === undefined) break;

    // Byte-level symbols never contain a space, so the first space separates the two halves.
    const split = best.indexOf(' ');
    const merge: Merge = [best.slice(0, split), best.slice(split + 1)];
    merges.push(merge);
    for (const symbols of symbolsOf) applyMerge(symbols, merge);
  }
  return merges;
}

function applyMerge(symbols: string[], [left, right]: Merge): void {
  for (let i = 0; i + 1 < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) symbols.splice(i, 2, left + right);
  }
}
