// Generates the tiny synthetic model once per test run and hands its folder to every suite.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureSyntheticModel } from '../src/engine/synth/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder holding `synthetic-tiny-*.gguf`, so `MODEL=synthetic:tiny` resolves without regenerating. */
    modelsDir: string;
    /** Path of the tiny synthetic model. */
    tinyModelPath: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const modelsDir = path.resolve('.tmp/test-models');
  const tinyModelPath = await ensureSyntheticModel({ shape: 'tiny', modelsDir });
  project.provide('modelsDir', modelsDir);
  project.provide('tinyModelPath', tinyModelPath);
}
