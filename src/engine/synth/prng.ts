// Seeded pseudo-random numbers for synthetic weights: the same seed always yields the same bytes.

const GOLDEN_GAMMA = 0x9e3779b9;

/** Derives an independent, non-zero 32-bit state for one stream (e.g. one tensor) of a seed. */
export function streamState(seed: number, stream: number): number {
  // splitmix32 finaliser: neighbouring seeds and stream indexes land far apart.
  let z = (Math.imul(seed ^ 0x5bd1e995, GOLDEN_GAMMA) + Math.imul(stream + 1, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z ^= z >>> 15;
  // xorshift32 never leaves the all-zero state, so steer away from it.
  return z === 0 ? GOLDEN_GAMMA | 0 : z;
}

/** xorshift32: tiny and fast, which matters when filling half a gigabyte of weights. */
export class Xorshift32 {
  private state: number;

  constructor(state: number) {
    if (state === 0) throw new RangeError('xorshift32 state must be non-zero');
    this.state = state | 0;
  }

  /** Next 32 random bits as a signed 32-bit integer (callers use the bits, not the sign). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x;
  }
}
