// The synthetic model shapes: qwen2 hyperparameters plus which vocabulary each one carries.

export type SyntheticShapeName = 'tiny' | 'tiny-qwen-vocab' | 'qwen2.5-0.5b';

export const SYNTHETIC_SHAPES: readonly SyntheticShapeName[] = ['tiny', 'tiny-qwen-vocab', 'qwen2.5-0.5b'];

/** `tiny`: a small byte-level BPE learned on the fly; `qwen2.5`: Qwen2.5's real 151,936-id vocabulary. */
export type VocabularyName = 'tiny' | 'qwen2.5';

export interface SyntheticShape {
  /** `general.name` in the file. */
  readonly displayName: string;
  readonly vocabulary: VocabularyName;
  readonly blockCount: number;
  readonly embeddingLength: number;
  readonly feedForwardLength: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly contextLength: number;
  readonly ropeFreqBase: number;
  readonly rmsNormEpsilon: number;
  /**
   * Whether the output projection reuses token_embd (as Qwen2.5-0.5B does). With random weights a
   * tied model's greedy output soon repeats one token forever, because each token's own embedding
   * scores highest against a hidden state still dominated by it; an independent output matrix
   * turns greedy decoding into a walk over many different tokens.
   */
  readonly tiedEmbeddings: boolean;
}

/** Qwen2.5's attention and context settings, which the tiny shapes copy so engine code sees the same. */
const QWEN2_5_COMMON = { contextLength: 32_768, ropeFreqBase: 1_000_000, rmsNormEpsilon: 1e-6 } as const;

/** Small enough to load and run in milliseconds; 4 heads of 32 keep attention a real GQA layout. */
const TINY_LAYERS = {
  blockCount: 2,
  embeddingLength: 128,
  feedForwardLength: 256,
  headCount: 4,
  headCountKv: 2,
  tiedEmbeddings: false,
} as const;

export const SYNTHETIC_SHAPE_SPECS: Readonly<Record<SyntheticShapeName, SyntheticShape>> = {
  tiny: {
    displayName: 'All-in-One synthetic tiny (random weights)',
    vocabulary: 'tiny',
    ...TINY_LAYERS,
    ...QWEN2_5_COMMON,
  },
  'tiny-qwen-vocab': {
    displayName: 'All-in-One synthetic tiny with the Qwen2.5 vocabulary (random weights)',
    vocabulary: 'qwen2.5',
    ...TINY_LAYERS,
    ...QWEN2_5_COMMON,
  },
  'qwen2.5-0.5b': {
    displayName: 'All-in-One synthetic Qwen2.5-0.5B shape (random weights)',
    vocabulary: 'qwen2.5',
    blockCount: 24,
    embeddingLength: 896,
    feedForwardLength: 4864,
    headCount: 14,
    headCountKv: 2,
    tiedEmbeddings: true,
    ...QWEN2_5_COMMON,
  },
};

export function isSyntheticShapeName(value: string): value is SyntheticShapeName {
  return (SYNTHETIC_SHAPES as readonly string[]).includes(value);
}
