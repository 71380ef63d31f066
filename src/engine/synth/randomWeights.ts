// Seeded random tensor data: Q8_0 matrices generated block by block, and F32 vectors.
import { GgmlType, Q8_0_BLOCK_VALUES, float16Bits, rowByteLength } from './ggml.js';
import { Xorshift32 } from './prng.js';

/** Roughly how much a generator fills before handing a chunk to the writer. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Maps a random byte to a quantised weight through the quantile function of a triangular
 * distribution on [-127, 127]: bell-ish like real Q8_0 blocks (whose largest value sits near ±127),
 * and one byte per weight keeps generation cheap.
 */
const QUANT_OF_BYTE = Uint8Array.from({ length: 256 }, (_, byte) => {
  const p = (byte + 0.5) / 256;
  const x = p < 0.5 ? Math.sqrt(2 * p) - 1 : 1 - Math.sqrt(2 * (1 - p));
  return Math.round(x * 127) & 0xff;
});

const QUANT_STD = Math.sqrt(
  QUANT_OF_BYTE.reduce((sum, byte) => sum + ((byte << 24) >> 24) ** 2, 0) / QUANT_OF_BYTE.length,
);

const Q8_0_WORDS_PER_BLOCK = Q8_0_BLOCK_VALUES / 4;

export interface RandomQ8_0Options {
  rows: number;
  rowLength: number;
  /** Standard deviation of the dequantised weights. */
  std: number;
  rng: Xorshift32;
  /** Rows to leave all zero, e.g. embeddings that must stay inert. */
  isZeroRow?: (row: number) => boolean;
}

/** Q8_0 rows of random weights; every block shares one scale, so only the quants vary. */
export function* randomQ8_0({ rows, rowLength, std, rng, isZeroRow }: RandomQ8_0Options): Generator<Uint8Array> {
  const rowBytes = rowByteLength(GgmlType.Q8_0, rowLength);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  const chunk = new Uint8Array(Math.min(rows, rowsPerChunk) * rowBytes);
  const scale = float16Bits(std / QUANT_STD);
  const scaleLow = scale & 0xff;
  const scaleHigh = scale >>> 8;
  const quantOf = QUANT_OF_BYTE;
  const blocksPerRow = rowLength / Q8_0_BLOCK_VALUES;

  for (let firstRow = 0; firstRow < rows; firstRow += rowsPerChunk) {
    const chunkRows = Math.min(rowsPerChunk, rows - firstRow);
    let offset = 0;
    for (let row = firstRow; row < firstRow + chunkRows; row++) {
      if (isZeroRow?.(row)) {
        chunk.fill(0, offset, offset + rowBytes);
        offset += rowBytes;
        continue;
      }
      for (let block = 0; block < blocksPerRow; block++) {
        chunk[offset] = scaleLow;
        chunk[offset + 1] = scaleHigh;
        offset += 2;
        for (let word = 0; word < Q8_0_WORDS_PER_BLOCK; word++) {
          const bits = rng.next();
          chunk[offset] = quantOf[bits & 0xff]!;
          chunk[offset + 1] = quantOf[(bits >>> 8) & 0xff]!;
          chunk[offset + 2] = quantOf[(bits >>> 16) & 0xff]!;
          chunk[offset + 3] = quantOf[bits >>> 24]!;
          offset += 4;
        }
      }
    }
    yield offset === chunk.byteLength ? chunk : chunk.subarray(0, offset);
  }
}

/** `count` F32 values, all equal: what norm weights look like before training. */
export function* constantF32(count: number, value: number): Generator<Uint8Array> {
  yield new Uint8Array(new Float32Array(count).fill(value).buffer);
}

/** `count` small random F32 values, e.g. attention biases. */
export function* randomF32(count: number, std: number, rng: Xorshift32): Generator<Uint8Array> {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    values[i] = (((QUANT_OF_BYTE[rng.next() & 0xff]! << 24) >> 24) / QUANT_STD) * std;
  }
  yield new Uint8Array(values.buffer);
}
