// Writes a GGUF v3 file: metadata and tensor infos up front, then tensor data streamed chunk by chunk.
import { open } from 'node:fs/promises';
import { ByteSink } from './ByteSink.js';
import { type GgmlType, tensorByteLength } from './ggml.js';

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const GGUF_VERSION = 3;

/** Data-section alignment; also written as `general.alignment` so readers need not assume it. */
export const GGUF_ALIGNMENT = 32;

const ValueType = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

export interface GgufTensor {
  /** Tensor name as llama.cpp looks it up, e.g. `blk.0.attn_q.weight`. */
  readonly name: string;
  /** Dimensions innermost first: `dims[0]` is the row length. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /**
   * Produces the tensor's bytes in order. The writer finishes writing each chunk before asking for
   * the next, so a generator may refill one buffer.
   */
  readonly chunks: () => Iterable<Uint8Array>;
}

export interface GgufWriteOptions {
  /** Called with the fraction of the file written so far, 0..1. */
  onProgress?: (fraction: number) => void;
}

export class GgufWriter {
  private readonly metadata = new ByteSink();
  private readonly keys = new Set<string>();
  private readonly tensors: GgufTensor[] = [];

  addString(key: string, value: string): this {
    this.key(key, ValueType.STRING).string(value);
    return this;
  }

  addUint32(key: string, value: number): this {
    this.key(key, ValueType.UINT32).uint32(value);
    return this;
  }

  addFloat32(key: string, value: number): this {
    this.key(key, ValueType.FLOAT32).float32(value);
    return this;
  }

  addBool(key: string, value: boolean): this {
    this.key(key, ValueType.BOOL).uint8(value ? 1 : 0);
    return this;
  }

  addStringArray(key: string, values: readonly string[]): this {
    const sink = this.arrayKey(key, ValueType.STRING, values.length);
    for (const value of values) sink.string(value);
    return this;
  }

  addInt32Array(key: string, values: ArrayLike<number>): this {
    const sink = this.arrayKey(key, ValueType.INT32, values.length);
    for (let i = 0; i < values.length; i++) sink.int32(values[i]!);
    return this;
  }

  addTensor(tensor: GgufTensor): this {
    if (this.tensors.some(({ name }) => name === tensor.name)) {
      throw new Error(`Duplicate GGUF tensor ${tensor.name}`);
    }
    this.tensors.push(tensor);
    return this;
  }

  /** Writes the file and returns its size in bytes. */
  async write(outFile: string, { onProgress }: GgufWriteOptions = {}): Promise<number> {
    const header = this.header();
    const dataBytes = this.tensors.reduce((sum, tensor) => sum + paddedByteLength(tensor), 0);
    const totalBytes = header.byteLength + dataBytes;
    const padding = new Uint8Array(GGUF_ALIGNMENT);
    let written = 0;

    const file = await open(outFile, 'w');
    try {
      const append = async (bytes: Uint8Array): Promise<void> => {
        await file.write(bytes, 0, bytes.byteLength);
        written += bytes.byteLength;
        onProgress?.(written / totalBytes);
      };
      await append(header);
      for (const tensor of this.tensors) {
        const expected = tensorByteLength(tensor.type, tensor.dims);
        let produced = 0;
        for (const chunk of tensor.chunks()) {
          produced += chunk.byteLength;
          await append(chunk);
        }
        if (produced !== expected) {
          throw new Error(`Tensor ${tensor.name} produced ${produced} bytes, expected ${expected}`);
        }
        await append(padding.subarray(0, paddedByteLength(tensor) - expected));
      }
    } finally {
      await file.close();
    }
    return written;
  }

  private header(): Uint8Array {
    const sink = new ByteSink();
    sink.uint32(GGUF_MAGIC);
    sink.uint32(GGUF_VERSION);
    sink.uint64(this.tensors.length);
    sink.uint64(this.keys.size);
    sink.bytes(this.metadata.contents());
    let offset = 0;
    for (const tensor of this.tensors) {
      sink.string(tensor.name);
      sink.uint32(tensor.dims.length);
      for (const dim of tensor.dims) sink.uint64(dim);
      sink.uint32(tensor.type);
      sink.uint64(offset);
      offset += paddedByteLength(tensor);
    }
    sink.align(GGUF_ALIGNMENT);
    return sink.contents();
  }

  private key(key: string, type: number): ByteSink {
    if (this.keys.has(key)) throw new Error(`Duplicate GGUF metadata key ${key}`);
    this.keys.add(key);
    this.metadata.string(key);
    this.metadata.uint32(type);
    return this.metadata;
  }

  private arrayKey(key: string, elementType: number, length: number): ByteSink {
    const sink = this.key(key, ValueType.ARRAY);
    sink.uint32(elementType);
    sink.uint64(length);
    return sink;
  }
}

function paddedByteLength(tensor: GgufTensor): number {
  const bytes = tensorByteLength(tensor.type, tensor.dims);
  return Math.ceil(bytes / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
}
