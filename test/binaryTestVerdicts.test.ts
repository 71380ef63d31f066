// Start-up skips three of node-llama-cpp's steps where they decide nothing (patches/node-llama-cpp+3.21.1.patch): the
// load test of a binary that passed it on this machine before, on the CPU the simulated memory estimates, and reading
// the tokenizer's vocabulary-sized arrays value by value.
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getLlama, LlamaLogLevel, readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BINARY_TESTS_FOLDER, createBinaryTestVerdicts, type BinaryTestVerdicts } from '../src/engine/binaryTestVerdicts.js';
import { loadLlama } from '../src/engine/loadModel.js';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-binary-tests-');
afterAll(() => scratch.remove());

/** A stand-in binary: a file whose identity (size, modification time) the verdict depends on. */
function binaryFile(name: string): string {
  const file = path.join(scratch.dir, name);
  writeFileSync(file, 'binary');
  return file;
}

/** Passes every call to `verdicts` and counts them. */
function counted(verdicts: BinaryTestVerdicts) {
  const calls = { passed: [] as boolean[], recorded: 0 };
  const wrapper: BinaryTestVerdicts = {
    async passed(binary) {
      const answer = await verdicts.passed(binary);
      calls.passed.push(answer);
      return answer;
    },
    async record(binary) {
      calls.recorded += 1;
      await verdicts.record(binary);
    },
  };
  return { wrapper, calls };
}

describe('binary test verdicts', () => {
  it('remember a pass for the same binary on the same machine, and for nothing else', async () => {
    const root = path.join(scratch.dir, 'states-a');
    const binding = binaryFile('a.node');
    const verdicts = createBinaryTestVerdicts(root, async () => 'machine 1');
    const binary = { bindingPath: binding, gpu: false } as const;
    expect(await verdicts.passed(binary)).toBe(false);
    await verdicts.record(binary);
    expect(await verdicts.passed(binary)).toBe(true);
    expect(readdirSync(path.join(root, BINARY_TESTS_FOLDER))).toHaveLength(1);

    // Another CPU (the folder moved to another machine), another GPU setting, another backends file: tested again.
    expect(await createBinaryTestVerdicts(root, async () => 'machine 2').passed(binary)).toBe(false);
    expect(await verdicts.passed({ ...binary, gpu: 'vulkan' })).toBe(false);
    expect(await verdicts.passed({ ...binary, extBackendsPath: binaryFile('backends.so') })).toBe(false);
    // The same file rewritten (an update of node-llama-cpp): tested again.
    utimesSync(binding, new Date(), new Date(Date.now() + 60_000));
    expect(await verdicts.passed(binary)).toBe(false);
  });

  it('cost only the test when the folder cannot be written', async () => {
    const root = path.join(scratch.dir, 'read-only');
    const verdicts = createBinaryTestVerdicts(root, async () => 'machine 1');
    writeFileSync(root, 'a file where the folder should be');
    const binary = { bindingPath: binaryFile('b.node'), gpu: false } as const;
    await expect(verdicts.record(binary)).resolves.toBeUndefined();
    expect(await verdicts.passed(binary)).toBe(false);
  });

  it('let a restart load the prebuilt binary without testing it again', async () => {
    // On Linux node-llama-cpp tests a prebuilt binary in a child process before every load: the first load records
    // the pass, the second is told of it and does not test (it records nothing new).
    if (process.platform !== 'linux') return;
    const root = path.join(scratch.dir, 'states-b');
    const first = counted(createBinaryTestVerdicts(root));
    const llama1 = (await loadLlama({ gpu: 'off', runtime: 'prebuilt', binaryTestVerdicts: first.wrapper })).llama;
    await llama1.dispose();
    expect(first.calls).toEqual({ passed: [false], recorded: 1 });
    expect(readdirSync(path.join(root, BINARY_TESTS_FOLDER))).toHaveLength(1);

    const second = counted(createBinaryTestVerdicts(root));
    const llama2 = (await loadLlama({ gpu: 'off', runtime: 'prebuilt', binaryTestVerdicts: second.wrapper })).llama;
    await llama2.dispose();
    expect(second.calls).toEqual({ passed: [true], recorded: 0 });
  });
});

describe('memory estimates on the CPU', () => {
  it('take the heuristic, without simulating a load of the model first', async () => {
    const estimate = { contextSize: 1024, modelGpuLayers: 0, batchSize: 512, sequences: 4, flashAttention: true };
    const estimates = async (llama: Awaited<ReturnType<typeof getLlama>>) => {
      const model = await llama.loadModel({ modelPath: inject('tinyModelPath') });
      try {
        const insights = model.fileInsights;
        return {
          used: await insights.estimateContextResourceRequirementsV2(estimate),
          heuristic: insights.estimateContextResourceRequirements(estimate),
        };
      } finally {
        await model.dispose();
        await llama.dispose();
      }
    };
    // node-llama-cpp by default: the simulated figure, which differs from the heuristic on this model…
    const plain = await estimates(await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false }));
    expect(plain.used.cpuRam).not.toBe(plain.heuristic.cpuRam);
    // …and as the engine loads llama.cpp on the CPU: the heuristic.
    const engine = await estimates((await loadLlama({ gpu: 'off', runtime: 'auto' })).llama);
    expect(engine.used).toEqual(engine.heuristic);
  });
});

describe("the tokenizer's vocabulary-sized arrays", () => {
  const LARGE = ['tokens', 'token_type', 'merges'] as const;

  it('are read as their lengths only when asked, and every other value as before', async () => {
    const file = inject('tinyModelPath');
    const full = await readGgufFileInfo(file);
    const lengthOnly = await readGgufFileInfo(file, { lengthOnlyKeys: LARGE.map((key) => `tokenizer.ggml.${key}`) });
    const ggml = (info: typeof full) => info.metadata.tokenizer.ggml as unknown as Record<string, unknown[]>;
    for (const key of LARGE) {
      expect(ggml(full)[key]!.length).toBeGreaterThan(100);
      expect(ggml(lengthOnly)[key]).toHaveLength(ggml(full)[key]!.length);
      expect(Object.keys(ggml(lengthOnly)[key]!)).toEqual([]);
    }
    // Skipping the strings and numbers lands where reading them did: the keys after them and the tensors agree.
    const { tokens: _tokens, token_type: _types, merges: _merges, ...rest } = ggml(full);
    expect(ggml(lengthOnly)).toMatchObject(rest);
    expect(lengthOnly.tensorInfo).toEqual(full.tensorInfo);
    expect(lengthOnly.metadata.general).toEqual(full.metadata.general);
  });

  it('are read as their lengths only by the engine, whose tokenizer (llama.cpp\'s own) still works', async () => {
    const { llama } = await loadLlama({ gpu: 'off', runtime: 'auto' });
    try {
      const model = await llama.loadModel({ modelPath: inject('tinyModelPath') });
      try {
        const tokens = model.fileInfo.metadata.tokenizer.ggml.tokens as unknown as unknown[];
        expect(tokens.length).toBeGreaterThan(100);
        expect(Object.keys(tokens)).toEqual([]);
        const text = 'Hello there, how are you?';
        expect(model.detokenize(model.tokenize(text))).toBe(text);
      } finally {
        await model.dispose();
      }
    } finally {
      await llama.dispose();
    }
  });
});
