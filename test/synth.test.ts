// Synthetic GGUF models: byte-for-byte determinism, and real llama.cpp loading, tokenizing and generating with them.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChatMLChatWrapper,
  getLlama,
  readGgufFileInfo,
  resolveChatWrapper,
  type LlamaContext,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrefixStates } from '../src/engine/PrefixStates.js';
import { INTENT_DEFINITION, SENTIMENT_DEFINITION } from '../src/engine/tasks/builtinTasks.js';
import { Classifier } from '../src/engine/tasks/Classifier.js';
import { classifierTaskOf } from '../src/engine/tasks/taskPrompts.js';
import { float16Bits } from '../src/engine/synth/ggml.js';
import { ensureSyntheticModel, syntheticModelPath, writeSyntheticModel } from '../src/engine/synth/index.js';

/**
 * One thread, not os.availableParallelism(): on this two-vCPU box a second llama.cpp thread made
 * the tiny model over 100x slower (its spinning barrier fights for what is effectively one core).
 */
const INFERENCE_THREADS = 1;
const TINY_MAX_BYTES = 2 * 1024 * 1024;
const GENERATED_TOKENS = 200;

let dir: string;
const leftovers: { dispose(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synth-test-'));
});

afterAll(async () => {
  // Children before parents: contexts, then models, then the llama binding.
  for (const resource of leftovers.reverse()) await resource.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function loadModel(modelPath: string): Promise<{ model: LlamaModel; context: LlamaContext }> {
  const llama = await getLlama({ gpu: false });
  leftovers.push(llama);
  const model = await llama.loadModel({ modelPath });
  leftovers.push(model);
  const context = await model.createContext({ contextSize: 512, threads: INFERENCE_THREADS });
  leftovers.push(context);
  return { model, context };
}

describe('float16Bits', () => {
  it('encodes the values Q8_0 scales need exactly as IEEE half floats', () => {
    expect(float16Bits(1)).toBe(0x3c00);
    expect(float16Bits(-2)).toBe(0xc000);
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float16Bits(0.0004)).toBe(0x0e8e);
  });
});

describe('writeSyntheticModel', () => {
  it('writes the tiny model byte-identically for one seed and differently for another', async () => {
    const first = await writeSyntheticModel({ shape: 'tiny', outFile: join(dir, 'a.gguf'), seed: 7 });
    const again = await writeSyntheticModel({ shape: 'tiny', outFile: join(dir, 'b.gguf'), seed: 7 });
    const other = await writeSyntheticModel({ shape: 'tiny', outFile: join(dir, 'c.gguf'), seed: 8 });

    expect(first.bytes).toBe((await stat(first.outFile)).size);
    expect(first.bytes).toBeLessThan(TINY_MAX_BYTES);
    const [a, b, c] = await Promise.all([first, again, other].map(({ outFile }) => readFile(outFile)));
    expect(a!.equals(b!)).toBe(true);
    // Same shape and vocabulary, so only the weights can differ.
    expect(c!.length).toBe(a!.length);
    expect(a!.equals(c!)).toBe(false);
  });

  it('carries the qwen2 metadata and tensors llama.cpp requires', async () => {
    const { outFile } = await writeSyntheticModel({ shape: 'tiny', outFile: join(dir, 'meta.gguf') });
    const { metadata, tensorInfo } = await readGgufFileInfo(outFile);
    expect(metadata.general).toMatchObject({ architecture: 'qwen2', file_type: 7, alignment: 32 });
    expect(metadata.general.name).toMatch(/synthetic tiny/);
    expect(metadata.qwen2).toMatchObject({
      context_length: 32768,
      embedding_length: 128,
      block_count: 2,
      feed_forward_length: 256,
      attention: { head_count: 4, head_count_kv: 2 },
      rope: { freq_base: 1_000_000 },
    });
    expect(metadata.tokenizer.ggml).toMatchObject({ model: 'gpt2', pre: 'qwen2', add_bos_token: false });
    expect(metadata.tokenizer.ggml.merges?.length).toBeGreaterThan(300);
    const names = tensorInfo!.map(({ name }) => name);
    expect(names).toEqual(
      expect.arrayContaining(['token_embd.weight', 'output_norm.weight', 'blk.1.attn_k.bias', 'blk.1.ffn_down.weight']),
    );
    expect(names).toHaveLength(2 + 2 * 12 + 1); // embeddings, 12 per block, untied output
  });

  it('rejects seeds that do not fit 32 bits and leaves no partial file behind', async () => {
    const outFile = join(dir, 'bad.gguf');
    await expect(writeSyntheticModel({ shape: 'tiny', outFile, seed: -1 })).rejects.toThrow(RangeError);
    await expect(writeSyntheticModel({ shape: 'tiny', outFile, seed: 1.5 })).rejects.toThrow(RangeError);
    expect((await readdir(dir)).filter((name) => name.includes('partial'))).toEqual([]);
  });
});

describe('ensureSyntheticModel', () => {
  it('generates once under a seed-specific name and then reuses the file', async () => {
    const modelsDir = join(dir, 'models');
    const [path, concurrent] = await Promise.all([
      ensureSyntheticModel({ shape: 'tiny', modelsDir, seed: 3 }),
      ensureSyntheticModel({ shape: 'tiny', modelsDir, seed: 3 }),
    ]);
    expect(path).toBe(join(modelsDir, 'synthetic-tiny-seed3.gguf'));
    expect(concurrent).toBe(path);
    const written = await stat(path);

    let progressCalls = 0;
    const onProgress = (): void => void progressCalls++;
    const reused = await ensureSyntheticModel({ shape: 'tiny', modelsDir, seed: 3, onProgress });
    expect(reused).toBe(path);
    expect(progressCalls).toBe(0);
    expect((await stat(path)).mtimeMs).toBe(written.mtimeMs);
    expect(await readdir(modelsDir)).toEqual(['synthetic-tiny-seed3.gguf']);
  });

  it('replaces a file under that name that this generator revision did not write', async () => {
    // A cache written by an older revision would otherwise serve outdated weights forever.
    const modelsDir = join(dir, 'stale');
    await mkdir(modelsDir);
    const path = syntheticModelPath(modelsDir, 'tiny', 3);
    await writeFile(path, 'not a model');

    expect(await ensureSyntheticModel({ shape: 'tiny', modelsDir, seed: 3 })).toBe(path);
    const { metadata } = await readGgufFileInfo(path, { readTensorInfo: false });
    expect(metadata.general.architecture).toBe('qwen2');
  });
});

describe('tiny model in llama.cpp', () => {
  let model: LlamaModel;
  let context: LlamaContext;

  beforeAll(async () => {
    const { outFile } = await writeSyntheticModel({ shape: 'tiny', outFile: join(dir, 'tiny.gguf') });
    ({ model, context } = await loadModel(outFile));
  });

  it('reads <|im_start|> as one control token only when special tokens are parsed', () => {
    const special = model.tokenize('<|im_start|>', true);
    expect(special).toHaveLength(1);
    expect(model.detokenize(special, true)).toBe('<|im_start|>');
    expect(model.tokenize('<|im_start|>', false).length).toBeGreaterThan(1);
    expect(model.detokenize([model.tokens.eos!], true)).toBe('<|im_end|>');
  });

  it('makes the sentiment labels single tokens, except 中性 which stays multi-token as in Qwen', () => {
    for (const label of [' positive', ' negative', ' neutral', '正面', '负面']) {
      expect(model.tokenize(label, false), label).toHaveLength(1);
    }
    const neutralZh = model.tokenize('中性', false);
    expect(neutralZh.length).toBeGreaterThan(1);
    expect(model.detokenize(neutralZh)).toBe('中性');
  });

  it('declares a ChatML chat template', () => {
    expect(model.fileInfo.metadata.tokenizer.chat_template).toContain('<|im_start|>');
    expect(resolveChatWrapper(model)).toBeInstanceOf(ChatMLChatWrapper);
  });

  it('generates at temperature 0 without stopping early, deterministically, as visible text', async () => {
    const prompt = model.tokenize('<|im_start|>user\nI feel a bit sad today<|im_end|>\n<|im_start|>assistant\n', true);
    const generate = async (): Promise<Token[]> => {
      const sequence = context.getSequence();
      const tokens: Token[] = [];
      try {
        for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
          tokens.push(token);
          if (tokens.length === GENERATED_TOKENS) break;
        }
      } finally {
        sequence.dispose();
      }
      return tokens;
    };

    const first = await generate();
    const second = await generate();
    // Control tokens have zero output rows, so greedy decoding never ends the turn by itself.
    expect(first).toHaveLength(GENERATED_TOKENS);
    expect(second).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
    const text = model.detokenize(first);
    expect(text.trim()).not.toBe('');
    expect(text).not.toContain('\uFFFD');
  });
});

describe('Qwen2.5 vocabulary (tiny-qwen-vocab)', () => {
  let model: LlamaModel;

  beforeAll(async () => {
    const outFile = join(dir, 'qwen-vocab.gguf');
    await writeSyntheticModel({ shape: 'tiny-qwen-vocab', outFile });
    ({ model } = await loadModel(outFile));
  });

  it('gives the label words the token ids of the real Qwen2.5 model', () => {
    expect(model.tokenize(' positive', false)).toEqual([6785]);
    expect(model.tokenize(' negative', false)).toEqual([8225]);
    expect(model.tokenize(' neutral', false)).toEqual([20628]);
    expect(model.tokenize('正面', false)).toEqual([106557]);
    expect(model.tokenize('负面', false)).toEqual([103276]);
    expect(model.tokenize('中性', false)).toHaveLength(2);
  });

  it('scores every built-in classify task in one forward pass, in both languages, with the real tokenizer', async () => {
    // Labels whose first tokens collide would need one decode per spelling: the built-in label words avoid that.
    const states = await PrefixStates.create();
    try {
      const classifier = new Classifier(model, states);
      classifier.add(classifierTaskOf(SENTIMENT_DEFINITION));
      classifier.add(classifierTaskOf(INTENT_DEFINITION));
      for (const task of ['sentiment', 'intent']) {
        for (const locale of ['zh', 'en'] as const) expect([task, locale, classifier.scoringMethod(task, locale)]).toEqual([task, locale, 'first-token']);
      }
    } finally {
      await states.dispose();
    }
  });

  it('has Qwen2.5-Instruct special tokens and padded vocabulary', () => {
    expect(model.tokenize('<|endoftext|><|im_start|><|im_end|>', true)).toEqual([151643, 151644, 151645]);
    expect(model.tokens.eos).toBe(151645);
    expect(model.tokenize('<|file_sep|>', true)).toEqual([151664]);
    // Qwen3's <think> (151667) is not part of Qwen2.5; its id is padding there.
    expect(model.tokenize('<think>', true)).not.toEqual([151667]);
    expect(model.fileInfo.metadata.tokenizer.ggml.tokens).toHaveLength(151_936);
  });
});

describe('qwen2.5-0.5b shape', () => {
  it('writes the real Qwen2.5-0.5B layout, and llama.cpp loads and runs it', { timeout: 120_000 }, async () => {
    const outFile = join(dir, 'qwen2.5-0.5b.gguf');
    const fractions: number[] = [];
    const { bytes } = await writeSyntheticModel({
      shape: 'qwen2.5-0.5b',
      outFile,
      onProgress: (fraction) => fractions.push(fraction),
    });
    expect(bytes).toBeGreaterThan(500_000_000);
    expect(fractions.at(-1)).toBe(1);

    const { metadata, tensorInfo } = await readGgufFileInfo(outFile, {
      ignoreKeys: ['tokenizer.ggml.tokens', 'tokenizer.ggml.merges', 'tokenizer.ggml.token_type'],
    });
    expect(metadata.qwen2).toMatchObject({
      block_count: 24,
      embedding_length: 896,
      feed_forward_length: 4864,
      attention: { head_count: 14, head_count_kv: 2 },
    });
    const names = tensorInfo!.map(({ name }) => name);
    expect(names).toHaveLength(1 + 24 * 12 + 1);
    expect(names).not.toContain('output.weight'); // tied embeddings, as in the real model

    const llama = await getLlama({ gpu: false });
    leftovers.push(llama);
    const model = await llama.loadModel({ modelPath: outFile });
    try {
      const context = await model.createContext({ contextSize: 256, threads: INFERENCE_THREADS });
      const sequence = context.getSequence();
      const tokens: Token[] = [];
      const prompt = model.tokenize('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n', true);
      for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
        tokens.push(token);
        if (tokens.length === 10) break;
      }
      expect(tokens).toHaveLength(10);
      expect(model.tokenize(' positive', false)).toEqual([6785]);
      await context.dispose();
    } finally {
      await model.dispose();
      await rm(outFile);
    }
  });
});
