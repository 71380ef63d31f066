// The ids the engine assumes for its sequences, checked against node-llama-cpp's own on the real tiny model.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { sequenceIdOf, takeSequences } from '../src/engine/sequenceIds.js';
import { TEST_THREADS } from './support/testApp.js';

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: inject('tinyModelPath'), gpuLayers: 0 });

afterAll(async () => {
  await model.dispose();
  await llama.dispose();
});

describe('takeSequences', () => {
  it("gives each sequence the id node-llama-cpp gave it, across several takes from one context", async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 6, threads: TEST_THREADS });
    try {
      const taken = [...takeSequences(context, 2), ...takeSequences(context, 3), ...takeSequences(context, 1)];
      // node-llama-cpp keeps the id to itself; read here only to check the assumption the batch order rests on.
      const actual = taken.map((sequence) => (sequence as unknown as { _sequenceId: unknown })._sequenceId);
      expect(actual).toEqual([0, 1, 2, 3, 4, 5]);
      expect(taken.map(sequenceIdOf)).toEqual(actual);
    } finally {
      await context.dispose();
    }
  });

  it('refuses a sequence it did not give out', async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: TEST_THREADS });
    try {
      expect(() => sequenceIdOf(context.getSequence())).toThrow(/takeSequences/);
    } finally {
      await context.dispose();
    }
  });
});
