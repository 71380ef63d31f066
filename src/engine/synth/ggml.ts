// ggml tensor types the synthetic models use, their byte sizes, and the half-float encoding Q8_0 scales need.

/** ggml type ids as stored in a GGUF tensor info. */
export const GgmlType = { F32: 0, Q8_0: 8 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** llama.cpp's `general.file_type` for a model whose matrices are Q8_0 (norms and biases stay F32). */
export const FILE_TYPE_MOSTLY_Q8_0 = 7;

/** A Q8_0 block: one f16 scale followed by 32 signed bytes. */
export const Q8_0_BLOCK_VALUES = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_VALUES;

const F32_BYTES = 4;

/** Bytes one row of `rowLength` values takes (ggml rows never straddle blocks). */
export function rowByteLength(type: GgmlType, rowLength: number): number {
  if (type === GgmlType.F32) return rowLength * F32_BYTES;
  if (rowLength % Q8_0_BLOCK_VALUES !== 0) {
    throw new RangeError(`Q8_0 rows must be a multiple of ${Q8_0_BLOCK_VALUES} values, got ${rowLength}`);
  }
  return (rowLength / Q8_0_BLOCK_VALUES) * Q8_0_BLOCK_BYTES;
}

/** Bytes a tensor of `dims` (innermost first, as GGUF lists them) takes. */
export function tensorByteLength(type: GgmlType, dims: readonly number[]): number {
  const [rowLength = 1, ...outer] = dims;
  return outer.reduce((bytes, dim) => bytes * dim, rowByteLength(type, rowLength));
}

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/** IEEE half-precision bits of a finite number, rounded to nearest (ties away from zero). */
export function float16Bits(value: number): number {
  float32[0] = value;
  const bits = float32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const shift = 14 - exponent;
    return sign | (((mantissa | 0x800000) + (1 << (shift - 1))) >>> shift);
  }
  // A mantissa that rounds up past 10 bits carries into the exponent, which is the right answer.
  return sign | ((exponent << 10) + ((mantissa + 0x1000) >>> 13));
}
