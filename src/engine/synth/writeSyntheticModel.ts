// Writes one synthetic model file, atomically: a crash leaves a stray temp file, never a truncated model.
import { randomUUID } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GgufWriter } from './GgufWriter.js';
import {
  SYNTHETIC_SHAPES,
  SYNTHETIC_SHAPE_SPECS,
  isSyntheticShapeName,
  type SyntheticShapeName,
} from './modelShapes.js';
import { describeQwen2Model } from './qwen2Model.js';
import { qwenVocabulary } from './qwenVocabulary.js';
import { tinyVocabulary } from './tinyVocabulary.js';
import type { Vocabulary } from './vocabulary.js';

export const DEFAULT_SYNTHETIC_SEED = 42;

/** Seeds are 32-bit, the state size of the weights generator. */
export const MAX_SYNTHETIC_SEED = 0xffff_ffff;

export interface WriteSyntheticModelOptions {
  /** Which model shape to write. */
  shape: SyntheticShapeName;
  /** Destination path; replaced if it exists. */
  outFile: string;
  /** Weights seed, an integer in 0..2^32-1; the same seed gives a byte-identical file. */
  seed?: number;
  /** Called with the fraction written so far, 0..1. */
  onProgress?: (fraction: number) => void;
}

export interface WrittenSyntheticModel {
  /** Absolute path of the file written. */
  outFile: string;
  /** Its size in bytes. */
  bytes: number;
}

export async function writeSyntheticModel(options: WriteSyntheticModelOptions): Promise<WrittenSyntheticModel> {
  const { shape, seed = DEFAULT_SYNTHETIC_SEED, onProgress } = options;
  if (!isSyntheticShapeName(shape)) {
    throw new RangeError(`Unknown synthetic shape "${shape}"; expected one of ${SYNTHETIC_SHAPES.join(', ')}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SYNTHETIC_SEED) {
    throw new RangeError(`Synthetic model seed must be an integer in 0..${MAX_SYNTHETIC_SEED}, got ${seed}`);
  }

  const spec = SYNTHETIC_SHAPE_SPECS[shape];
  const vocabulary: Vocabulary = spec.vocabulary === 'tiny' ? tinyVocabulary() : await qwenVocabulary();
  const writer = new GgufWriter();
  describeQwen2Model(writer, spec, vocabulary, seed);

  const outFile = resolve(options.outFile);
  // Same directory as the target, so the final rename stays on one file system and is atomic.
  const tempFile = `${outFile}.${randomUUID()}.partial`;
  try {
    const bytes = await writer.write(tempFile, { onProgress });
    await rename(tempFile, outFile);
    return { outFile, bytes };
  } catch (error) {
    await rm(tempFile, { force: true });
    throw error;
  }
}
