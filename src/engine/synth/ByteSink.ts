// A growable little-endian byte buffer for assembling a GGUF header before it goes to disk.

const INITIAL_CAPACITY = 64 * 1024;
const UTF8_MAX_BYTES_PER_UTF16_UNIT = 3;

export class ByteSink {
  private buffer = Buffer.alloc(INITIAL_CAPACITY);
  private length = 0;

  get byteLength(): number {
    return this.length;
  }

  uint32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32LE(value, this.length);
  }

  int32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32LE(value, this.length);
  }

  uint64(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeBigUInt64LE(BigInt(value), this.length);
  }

  float32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeFloatLE(value, this.length);
  }

  uint8(value: number): void {
    this.reserve(1);
    this.length = this.buffer.writeUInt8(value, this.length);
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes without a terminator. */
  string(value: string): void {
    this.reserve(8 + value.length * UTF8_MAX_BYTES_PER_UTF16_UNIT);
    const written = this.buffer.write(value, this.length + 8, 'utf8');
    this.buffer.writeBigUInt64LE(BigInt(written), this.length);
    this.length += 8 + written;
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.byteLength);
    this.buffer.set(value, this.length);
    this.length += value.byteLength;
  }

  /** Zero bytes up to the next multiple of `alignment`. */
  align(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  /** The bytes written so far (a view, not a copy). */
  contents(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.alloc(capacity);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
