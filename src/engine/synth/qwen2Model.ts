// Lays out a qwen2-architecture model for a GgufWriter: the metadata llama.cpp needs and every tensor.
import { isVisibleText } from './byteLevel.js';
import { FILE_TYPE_MOSTLY_Q8_0, GgmlType } from './ggml.js';
import { GGUF_ALIGNMENT, type GgufTensor, type GgufWriter } from './GgufWriter.js';
import type { SyntheticShape } from './modelShapes.js';
import { Xorshift32, streamState } from './prng.js';
import { constantF32, randomF32, randomQ8_0 } from './randomWeights.js';
import { SYNTHETIC_FORMAT_KEY, SYNTHETIC_FORMAT_VERSION } from './syntheticFormat.js';
import { CHATML_TEMPLATE, TokenType, type Vocabulary } from './vocabulary.js';

const ARCHITECTURE = 'qwen2';

/** Spread of freshly initialised transformer weights, which keeps activations in a sane range. */
const WEIGHT_STD = 0.02;

/** The ggml quantisation format revision that Q8_0 data follows. */
const QUANTIZATION_VERSION = 2;

/** Writes `shape` with `vocabulary` and weights drawn from `seed` into `writer`. */
export function describeQwen2Model(
  writer: GgufWriter,
  shape: SyntheticShape,
  vocabulary: Vocabulary,
  seed: number,
): void {
  addMetadata(writer, shape, vocabulary);
  qwen2Tensors(shape, vocabulary, seed).forEach((tensor) => writer.addTensor(tensor));
}

function addMetadata(writer: GgufWriter, shape: SyntheticShape, vocabulary: Vocabulary): void {
  // llama.cpp aborts the whole process (not just the load) when a required key is missing.
  writer
    .addString('general.architecture', ARCHITECTURE)
    .addString('general.type', 'model')
    .addString('general.name', shape.displayName)
    .addUint32('general.file_type', FILE_TYPE_MOSTLY_Q8_0)
    .addUint32('general.quantization_version', QUANTIZATION_VERSION)
    .addUint32('general.alignment', GGUF_ALIGNMENT)
    .addUint32(SYNTHETIC_FORMAT_KEY, SYNTHETIC_FORMAT_VERSION)
    .addUint32(`${ARCHITECTURE}.context_length`, shape.contextLength)
    .addUint32(`${ARCHITECTURE}.embedding_length`, shape.embeddingLength)
    .addUint32(`${ARCHITECTURE}.block_count`, shape.blockCount)
    .addUint32(`${ARCHITECTURE}.feed_forward_length`, shape.feedForwardLength)
    .addUint32(`${ARCHITECTURE}.attention.head_count`, shape.headCount)
    .addUint32(`${ARCHITECTURE}.attention.head_count_kv`, shape.headCountKv)
    .addFloat32(`${ARCHITECTURE}.rope.freq_base`, shape.ropeFreqBase)
    .addFloat32(`${ARCHITECTURE}.attention.layer_norm_rms_epsilon`, shape.rmsNormEpsilon)
    .addString('tokenizer.ggml.model', 'gpt2')
    .addString('tokenizer.ggml.pre', 'qwen2')
    .addStringArray('tokenizer.ggml.tokens', vocabulary.tokens)
    .addInt32Array('tokenizer.ggml.token_type', vocabulary.tokenTypes)
    .addStringArray('tokenizer.ggml.merges', vocabulary.merges)
    .addUint32('tokenizer.ggml.eos_token_id', vocabulary.eosId)
    .addUint32('tokenizer.ggml.padding_token_id', vocabulary.padId)
    .addUint32('tokenizer.ggml.bos_token_id', vocabulary.bosId)
    .addBool('tokenizer.ggml.add_bos_token', false)
    .addString('tokenizer.chat_template', CHATML_TEMPLATE);
}

function qwen2Tensors(shape: SyntheticShape, vocabulary: Vocabulary, seed: number): GgufTensor[] {
  const embd = shape.embeddingLength;
  const kvEmbd = (embd / shape.headCount) * shape.headCountKv;
  const tensors: GgufTensor[] = [];
  // Each tensor owns a stream keyed by its index, so its bytes never depend on how many random
  // numbers the tensors before it consumed.
  const nextStream = (): (() => Xorshift32) => {
    const state = streamState(seed, tensors.length);
    return () => new Xorshift32(state);
  };
  const matrix = (name: string, rowLength: number, rows: number, isZeroRow?: (row: number) => boolean): void => {
    const rng = nextStream();
    tensors.push({
      name,
      dims: [rowLength, rows],
      type: GgmlType.Q8_0,
      chunks: () => randomQ8_0({ rows, rowLength, std: WEIGHT_STD, rng: rng(), isZeroRow }),
    });
  };
  const bias = (name: string, length: number): void => {
    const rng = nextStream();
    tensors.push({ name, dims: [length], type: GgmlType.F32, chunks: () => randomF32(length, WEIGHT_STD, rng()) });
  };
  const norm = (name: string): void => {
    tensors.push({ name, dims: [embd], type: GgmlType.F32, chunks: () => constantF32(embd, 1) });
  };

  const silent = silentTokens(vocabulary);
  const isSilent = (row: number): boolean => silent[row] === 1;
  matrix('token_embd.weight', embd, vocabulary.tokens.length, isSilent);
  for (let block = 0; block < shape.blockCount; block++) {
    const prefix = `blk.${block}`;
    norm(`${prefix}.attn_norm.weight`);
    matrix(`${prefix}.attn_q.weight`, embd, embd);
    bias(`${prefix}.attn_q.bias`, embd);
    matrix(`${prefix}.attn_k.weight`, embd, kvEmbd);
    bias(`${prefix}.attn_k.bias`, kvEmbd);
    matrix(`${prefix}.attn_v.weight`, embd, kvEmbd);
    bias(`${prefix}.attn_v.bias`, kvEmbd);
    matrix(`${prefix}.attn_output.weight`, embd, embd);
    norm(`${prefix}.ffn_norm.weight`);
    matrix(`${prefix}.ffn_gate.weight`, embd, shape.feedForwardLength);
    matrix(`${prefix}.ffn_up.weight`, embd, shape.feedForwardLength);
    matrix(`${prefix}.ffn_down.weight`, shape.feedForwardLength, embd);
  }
  norm('output_norm.weight');
  if (!shape.tiedEmbeddings) matrix('output.weight', embd, vocabulary.tokens.length, isSilent);
  return tensors;
}

/**
 * Marks (with 1) the tokens whose output rows are zero, so their logit is exactly 0 while other
 * logits spread around 0 and greedy decoding never picks them. That covers control tokens such as
 * <|im_end|> (random weights would otherwise end generation at once; maxTokens stops it instead),
 * unused [PAD] ids, and tokens that are not visible text on their own, so generated text is always
 * valid, printable and non-blank. Their input embeddings are zero too, which a random model does
 * not mind.
 */
function silentTokens(vocabulary: Vocabulary): Uint8Array {
  return Uint8Array.from(vocabulary.tokens, (token, id) =>
    vocabulary.tokenTypes[id] === TokenType.NORMAL && isVisibleText(token) ? 0 : 1,
  );
}
