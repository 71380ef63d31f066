// Returns a cached synthetic model from a models directory, generating it on first use or when stale.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SyntheticShapeName } from './modelShapes.js';
import { isCurrentSyntheticModel } from './syntheticFormat.js';
import { DEFAULT_SYNTHETIC_SEED, writeSyntheticModel } from './writeSyntheticModel.js';

export interface EnsureSyntheticModelOptions {
  /** Which model shape to provide. */
  shape: SyntheticShapeName;
  /** Directory holding generated models; created if missing. */
  modelsDir: string;
  /** Weights seed; part of the file name, so each seed is cached separately. */
  seed?: number;
  /** Progress of generation, 0..1; not called when an up-to-date file already exists. */
  onProgress?: (fraction: number) => void;
}

/** Generations under way in this process, so concurrent callers share one write. */
const pending = new Map<string, Promise<string>>();

/** Where `ensureSyntheticModel` keeps a shape and seed. */
export function syntheticModelPath(
  modelsDir: string,
  shape: SyntheticShapeName,
  seed = DEFAULT_SYNTHETIC_SEED,
): string {
  return join(modelsDir, `synthetic-${shape}-seed${seed}.gguf`);
}

export async function ensureSyntheticModel(options: EnsureSyntheticModelOptions): Promise<string> {
  const { shape, modelsDir, seed = DEFAULT_SYNTHETIC_SEED, onProgress } = options;
  const modelPath = syntheticModelPath(modelsDir, shape, seed);
  // writeSyntheticModel only renames complete files into place; an older generator's file is replaced.
  if (await isCurrentSyntheticModel(modelPath)) return modelPath;

  let generation = pending.get(modelPath);
  if (generation === undefined) {
    generation = (async () => {
      await mkdir(modelsDir, { recursive: true });
      await writeSyntheticModel({ shape, outFile: modelPath, seed, onProgress });
      return modelPath;
    })().finally(() => pending.delete(modelPath));
    pending.set(modelPath, generation);
  }
  return generation;
}
