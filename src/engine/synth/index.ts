// Public entry point for synthetic GGUF models: random weights in real model shapes, for tests and demos.
export { SYNTHETIC_SHAPES, isSyntheticShapeName, type SyntheticShapeName } from './modelShapes.js';
export {
  DEFAULT_SYNTHETIC_SEED,
  MAX_SYNTHETIC_SEED,
  writeSyntheticModel,
  type WriteSyntheticModelOptions,
  type WrittenSyntheticModel,
} from './writeSyntheticModel.js';
export { ensureSyntheticModel, syntheticModelPath, type EnsureSyntheticModelOptions } from './ensureSyntheticModel.js';
export { hasCurrentSyntheticStamp, SYNTHETIC_FORMAT_KEY } from './syntheticFormat.js';
