// The engine on the real node-llama-cpp with the tiny synthetic model: both tasks, streaming, scheduling, failures.
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BadInputError,
  Engine,
  EngineBusyError,
  ModelUnavailableError,
  TimeoutError,
  type ChatStream,
  type EngineOptions,
  type SentimentLabel,
} from '../src/engine/index.js';
import { loadModel } from '../src/engine/loadModel.js';
import { SYNTHETIC_FORMAT_KEY, syntheticModelPath } from '../src/engine/synth/index.js';
import { isCurrentSyntheticModel, SYNTHETIC_FORMAT_VERSION } from '../src/engine/synth/syntheticFormat.js';
import { classifyByGenerating } from '../src/eval/generateBaseline.js';
import { sentimentDisplay, sentimentEmoji } from '../src/service/sentimentDisplay.js';
import { classifySentiment } from './support/sentiment.js';
import { chatSystemPrompt } from '../src/engine/prompts.js';
import { tokenizeParts } from '../src/engine/tokenizeParts.js';
import { createScratchDir, TEST_THREADS } from './support/testApp.js';

const threads = TEST_THREADS;
const modelsDir = inject('modelsDir');
const tinyModelPath = inject('tinyModelPath');
const leftovers: Engine[] = [];

async function openEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  const engine = await Engine.load({ model: tinyModelPath, modelsDir, threads, contextSize: 1024, ...overrides });
  leftovers.push(engine);
  return engine;
}

async function collect(stream: ChatStream): Promise<string[]> {
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

afterAll(async () => {
  await Promise.all(leftovers.map((engine) => engine.dispose()));
});

describe('Engine on the tiny synthetic model', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await openEngine();
  });

  it('loads MODEL=synthetic:tiny from the models folder and warns that its output is meaningless', async () => {
    const warnings: string[] = [];
    const synthetic = await openEngine({ model: 'synthetic:tiny', onWarning: (message) => warnings.push(message) });
    const status = synthetic.status();
    expect(status.model.synthetic).toBe(true);
    expect(status.model.source.kind).toBe('synthetic');
    expect(status.ready).toBe(true);
    expect(status.threads).toBe(threads);
    expect(warnings.join(' ')).toMatch(/meaningless/);
    await synthetic.dispose();
    expect(synthetic.status().ready).toBe(false);
  });

  it('classifies with a valid label, scores summing to 1 and the original display format', async () => {
    for (const locale of ['zh', 'en'] as const) {
      const result = await classifySentiment(engine, '今天的实验终于成功了，太棒了! Great news.', { locale });
      expect(['positive', 'negative', 'neutral']).toContain(result.label);
      const { positive, negative, neutral } = result.scores;
      expect(positive + negative + neutral).toBeCloseTo(1, 6);
      expect(result.confidence).toBe(result.scores[result.label]);
      expect(result.confidence).toBe(Math.max(positive, negative, neutral));
      expect(result.locale).toBe(locale);
      const display = sentimentDisplay(result.label as SentimentLabel, result.locale);
      const caption =
        locale === 'zh'
          ? /^(😄|😡|😐) LLM 情感判断: (正面|负面|中性)$/
          : /^(😄|😡|😐) LLM sentiment: (positive|negative|neutral)$/;
      expect(display).toMatch(caption);
      expect(sentimentEmoji(result.label as SentimentLabel)).toBe(display.split(' ')[0]);
    }
  });

  it('gives the same answer for the same text, whatever was classified or chatted in between', async () => {
    const text = 'The service was slow but the food was fine.';
    const first = await classifySentiment(engine, text, { locale: 'en' });
    await classifySentiment(engine, 'Something completely different, and much longer than the first text was.', { locale: 'en' });
    await collect(engine.chat({ history: [], message: text, temperature: 0, maxTokens: 8, locale: 'en' }));
    const again = await classifySentiment(engine, text, { locale: 'en' });
    expect(again.label).toBe(first.label);
    for (const label of ['positive', 'negative', 'neutral'] as const) {
      expect(again.scores[label]).toBeCloseTo(first.scores[label], 5);
    }
  });

  it('keeps the system prefix warm from load, and never evaluates it again: a call evaluates only its text', async () => {
    const fresh = await openEngine({ taskSequences: 1 });
    const text = '第一句话。';
    // Warming up left the English instructions resident in the one task sequence, the Chinese ones saved.
    const warm = await classifySentiment(fresh, text, { locale: 'zh' });
    expect(warm.prefix).toBe('loaded');
    // Another language on the one task sequence, then the baseline method, which clears the sequence: the Chinese
    // instructions come back from their saved state, not from a new evaluation.
    const other = await classifySentiment(fresh, 'Another language.', { locale: 'en' });
    expect(other.prefix).not.toBe('evaluated');
    await classifyByGenerating(fresh, text, { locale: 'zh' });
    const restored = await classifySentiment(fresh, text, { locale: 'zh' });
    expect(restored.prefix).toBe('loaded');
    expect(restored.promptTokens).toBe(warm.promptTokens);
    expect(restored.label).toBe(warm.label);
    expect(restored.scores.positive).toBeCloseTo(warm.scores.positive, 5);
    expect(fresh.tasks().find((task) => task.name === 'sentiment')).toMatchObject({ scoring: { zh: 'first-token' } });
  });

  it('runs the original generate-and-parse method as a baseline, evaluating the whole prompt each time', async () => {
    const logprob = await classifySentiment(engine, 'I love it', { locale: 'en' });
    const baseline = await classifyByGenerating(engine, 'I love it', { locale: 'en' });
    expect(typeof baseline.rawAnswer).toBe('string');
    expect(baseline.promptTokens).toBeGreaterThan(logprob.promptTokens);
    const sum = baseline.scores.positive + baseline.scores.negative + baseline.scores.neutral;
    expect(sum).toBeCloseTo(1, 6);
  });

  it('classifies a batch in one job, in order, with the same results as single calls', async () => {
    const texts = ['good', '很糟糕的体验', 'an ordinary day'];
    const batch = (await engine.runTaskBatch(texts, ['sentiment'], { locale: 'en' })).flatMap(({ results }) =>
      results.flatMap((result) => (result.kind === 'classify' ? [result] : [])),
    );
    expect(batch).toHaveLength(3);
    for (const [index, text] of texts.entries()) {
      const single = await classifySentiment(engine, text, { locale: 'en' });
      expect(batch[index]!.label).toBe(single.label);
      expect(batch[index]!.scores.positive).toBeCloseTo(single.scores.positive, 5);
    }
  });

  it('refuses empty, oversized and malformed input with BadInputError', async () => {
    await expect(classifySentiment(engine, '   ')).rejects.toBeInstanceOf(BadInputError);
    await expect(classifySentiment(engine, 'x'.repeat(engine.maxInputChars + 1))).rejects.toBeInstanceOf(BadInputError);
    // Within MAX_INPUT_CHARS but more tokens than the context holds: refused before any work, never shifted.
    await expect(classifySentiment(engine, 'x '.repeat(engine.maxInputChars / 2))).rejects.toThrow(
      /needs \d+ prompt tokens, more than the 1024-token context/,
    );
    await expect(classifySentiment(engine, 'x'.repeat(engine.maxInputChars))).rejects.toBeInstanceOf(BadInputError);
    await expect(classifySentiment(engine, 'lone \uD800 surrogate')).rejects.toBeInstanceOf(BadInputError);
    await expect(engine.runTaskBatch(Array.from({ length: 33 }, () => 'a'), ['sentiment'])).rejects.toBeInstanceOf(BadInputError);
    expect(() => engine.chat({ history: [], message: 'hi', maxTokens: 0 })).toThrow(BadInputError);
    expect(() => engine.chat({ history: [], message: 'hi', temperature: -1 })).toThrow(BadInputError);
    expect(() => engine.chat({ history: [], message: '' })).toThrow(BadInputError);
  });

  it('streams deltas that concatenate to the reply, each well-formed text, ending with a result', async () => {
    const stream = engine.chat({ history: [], message: '你好！今天心情怎么样？', temperature: 0, maxTokens: 40 });
    const deltas = await collect(stream);
    const result = await stream.result;
    expect(deltas.join('')).toBe(result.text);
    expect(result.completionTokens).toBeGreaterThan(0);
    for (const delta of deltas) {
      expect(delta.length).toBeGreaterThan(0);
      expect(delta.isWellFormed()).toBe(true);
      expect(Buffer.from(delta, 'utf8').toString('utf8')).toBe(delta);
    }
    expect(['stop', 'length']).toContain(result.finishReason);
    expect(result.promptTokens).toBeGreaterThan(10);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('stops at maxTokens with finish reason length, and is deterministic at temperature 0', async () => {
    const request = { history: [], message: 'Tell me a story.', temperature: 0, maxTokens: 12, locale: 'en' as const };
    const first = engine.chat(request);
    await collect(first);
    const second = engine.chat(request);
    await collect(second);
    const [a, b] = await Promise.all([first.result, second.result]);
    expect(a.text).toBe(b.text);
    if (a.finishReason === 'length') expect(a.completionTokens).toBe(12);
    expect(a.completionTokens).toBeLessThanOrEqual(12);
  });

  it('stops within a token when aborted mid-stream and reports the text so far', async () => {
    const controller = new AbortController();
    const stream = engine.chat(
      { history: [], message: 'Write a long answer.', temperature: 0, maxTokens: 400 },
      { signal: controller.signal },
    );
    const deltas: string[] = [];
    for await (const delta of stream) {
      deltas.push(delta);
      if (deltas.length === 3) controller.abort();
    }
    const result = await stream.result;
    expect(result.finishReason).toBe('aborted');
    expect(result.text).toBe(deltas.join(''));
    // At most one more token after the abort (plus any bytes of a character still pending).
    expect(result.completionTokens).toBeLessThan(3 + 6);
    expect(engine.status().runningJobs).toEqual([]);
    await expect(classifySentiment(engine, 'next job runs at once')).resolves.toHaveProperty('label');
  });

  it('accepts a look-alike signal, as web frameworks hand resolvers, and stops when it aborts', async () => {
    // graphql-yoga's Node adapter passes a Proxy over an EventTarget; Node 24.22+ refuses such objects in
    // AbortSignal.any, which once turned every HTTP chat into "Unexpected error.". This one is not an
    // AbortSignal at all, so it fails there on every Node version.
    class LookAlikeSignal extends EventTarget {
      aborted = false;
      reason: unknown = undefined;
      abort(): void {
        this.aborted = true;
        this.reason = new Error('client went away');
        this.dispatchEvent(new Event('abort'));
      }
    }
    const signal = new LookAlikeSignal();
    expect(signal instanceof AbortSignal).toBe(false);
    await expect(classifySentiment(engine, 'a look-alike signal is fine', { signal })).resolves.toHaveProperty('label');
    const stream = engine.chat({ history: [], message: 'Write a long answer.', temperature: 0, maxTokens: 400 }, { signal });
    const deltas: string[] = [];
    for await (const delta of stream) {
      deltas.push(delta);
      if (deltas.length === 3) signal.abort();
    }
    const result = await stream.result;
    expect(result.finishReason).toBe('aborted');
    expect(result.text).toBe(deltas.join(''));
    expect(result.completionTokens).toBeLessThan(3 + 6);
  });

  it('stops generating when the consumer stops iterating', async () => {
    const stream = engine.chat({ history: [], message: 'Go on and on.', temperature: 0, maxTokens: 400 });
    for await (const delta of stream) {
      expect(delta.length).toBeGreaterThan(0);
      break;
    }
    const result = await stream.result;
    expect(result.finishReason).toBe('aborted');
    expect(result.completionTokens).toBeLessThan(10);
  });

  it('serves a sentiment job submitted during a long generation before the generation ends', async () => {
    const stream = engine.chat({ history: [], message: 'Talk for a long time.', temperature: 0, maxTokens: 300 });
    let deltasWhenSentimentDone = -1;
    let deltas = 0;
    let sentimentDone: Promise<void> | undefined;
    for await (const delta of stream) {
      expect(delta).not.toBe('');
      deltas += 1;
      if (deltas === 2) {
        sentimentDone = classifySentiment(engine, 'Quick question, are you fast?', { locale: 'en' }).then(() => {
          deltasWhenSentimentDone = deltas;
        });
      }
    }
    const result = await stream.result;
    await sentimentDone;
    expect(deltasWhenSentimentDone).toBeGreaterThan(0);
    // It finished a few token-times after submission, long before the reply's last token.
    expect(deltasWhenSentimentDone).toBeLessThan(Math.min(result.completionTokens, 60));
    expect(result.completionTokens).toBeGreaterThan(deltasWhenSentimentDone);
  });

  it('continues a warm conversation by evaluating only the new tokens', async () => {
    const conversationKey = 'conversation-1';
    const first = engine.chat({
      history: [],
      message: 'Hello there.',
      temperature: 0,
      maxTokens: 10,
      conversationKey,
      locale: 'en',
    });
    await collect(first);
    const reply = (await first.result).text;
    const second = engine.chat({
      history: [
        { role: 'user', content: 'Hello there.' },
        { role: 'assistant', content: reply },
      ],
      message: 'And how are you?',
      temperature: 0,
      maxTokens: 10,
      conversationKey,
      locale: 'en',
    });
    await collect(second);
    const result = await second.result;
    // The system prompt and the first question were resident; the reply's text may re-tokenize differently.
    expect(result.promptTokensEvaluated).toBeLessThan(result.promptTokens - 20);
  });

  it("opens new conversations on their system prompt's saved state: evaluated once for several opened together", async () => {
    let decoded = 0;
    const fresh = await openEngine({ onCycle: (report) => (decoded += report.tokens) });
    // Warming up left the Chinese system prompt in every chat sequence; these conversations are English.
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false });
    const tokenizer = await llama.loadModel({ modelPath: tinyModelPath });
    const system = tokenizeParts(tokenizer, chatSystemPrompt('en'));
    const resident = tokenizeParts(tokenizer, chatSystemPrompt('zh'));
    await tokenizer.dispose();
    // Their common start (the system turn's opening) stays in place when the English one is evaluated over it.
    let common = 0;
    while (system[common] === resident[common]) common += 1;
    const open = async (message: string) => {
      const stream = fresh.chat({ history: [], message, temperature: 0, maxTokens: 1, locale: 'en' });
      await collect(stream);
      return stream.result;
    };
    decoded = 0;
    const replies = await Promise.all([open('Hello there.'), open('Good morning to you.'), open('Is anyone here?')]);
    // Each reply evaluated its own turn only: its system prompt was in place (loaded, or evaluated once for all).
    for (const reply of replies) expect(reply.promptTokensEvaluated).toBe(reply.promptTokens - system.length);
    const own = replies.reduce((sum, reply) => sum + reply.promptTokensEvaluated, 0);
    expect(decoded).toBe(system.length - common + own);
  });

  it('trims history oldest-first to fit the context and refuses a single message too long to fit', async () => {
    const small = await openEngine({ contextSize: 512, maxInputChars: 100_000 });
    const history = Array.from({ length: 40 }, (_, index) => ({
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `Turn ${index}: ${'some words here '.repeat(6)}`,
    }));
    const stream = small.chat({ history, message: 'Latest question?', temperature: 0, maxTokens: 32 });
    await collect(stream);
    const result = await stream.result;
    expect(result.promptTokens + 32).toBeLessThanOrEqual(small.contextSize);
    expect(result.promptTokens).toBeGreaterThan(100);
    expect(() => small.chat({ history: [], message: 'long '.repeat(2000), maxTokens: 32 })).toThrow(BadInputError);
  });
});

describe('Engine scheduling limits', () => {
  it('refuses a job beyond the queue bound at once with EngineBusyError', async () => {
    const engine = await openEngine({ maxQueue: 1, maxParallelReplies: 1, warmConversations: 1 });
    const running = engine.chat({ history: [], message: 'one', temperature: 0, maxTokens: 50 });
    const queued = engine.chat({ history: [], message: 'two', temperature: 0, maxTokens: 5 });
    const refused = engine.chat({ history: [], message: 'three', temperature: 0, maxTokens: 5 });
    const startedAt = performance.now();
    await expect(refused.result).rejects.toBeInstanceOf(EngineBusyError);
    expect(performance.now() - startedAt).toBeLessThan(1000);
    await Promise.all([collect(running), collect(queued)]);
    await expect(queued.result).resolves.toHaveProperty('text');
  });

  it('fails a job that runs past JOB_TIMEOUT_MS with TimeoutError and keeps serving', async () => {
    const engine = await openEngine({ jobTimeoutMs: 150, contextSize: 2048 });
    const stream = engine.chat({ history: [], message: 'A very long story please.', temperature: 0, maxTokens: 1500 });
    const outcome = collect(stream);
    await expect(outcome).rejects.toBeInstanceOf(TimeoutError);
    await expect(stream.result).rejects.toBeInstanceOf(TimeoutError);
    expect(engine.status().runningJobs).toEqual([]);
  });
});

describe('Engine model loading failures', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'aio-engine-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const load = (model: string) => Engine.load({ model, modelsDir: scratch, threads, downloadConnectTimeoutMs: 2_000 });

  it('reports a missing file clearly', async () => {
    const missing = path.join(scratch, 'nope.gguf');
    await expect(load(missing)).rejects.toThrow(ModelUnavailableError);
    await expect(load(missing)).rejects.toThrow(/not found.*nope\.gguf.*MODEL=synthetic:tiny/s);
  });

  it('reports a file that is not GGUF', async () => {
    const file = path.join(scratch, 'text.gguf');
    await writeFile(file, 'this is not a model');
    await expect(load(file)).rejects.toThrow(/Not a GGUF model file/);
  });

  it('reports a truncated GGUF file instead of crashing', async () => {
    for (const keep of [64, 4096, 300_000]) {
      const file = path.join(scratch, `truncated-${keep}.gguf`);
      await copyFile(tinyModelPath, file);
      await truncate(file, keep);
      await expect(load(file)).rejects.toBeInstanceOf(ModelUnavailableError);
    }
  });

  it('reports a GGUF file with a corrupt header', async () => {
    const file = path.join(scratch, 'corrupt.gguf');
    await copyFile(tinyModelPath, file);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.alloc(64, 0xff), 0, 64, 8);
    await handle.close();
    await expect(load(file)).rejects.toBeInstanceOf(ModelUnavailableError);
  });

  it('fails at once with what it tried when an hf: model is not cached and cannot be downloaded', async () => {
    const attempt = load('hf:all-in-one-tests/no-such-repository/no-such-file.gguf');
    await expect(attempt).rejects.toBeInstanceOf(ModelUnavailableError);
    await expect(attempt).rejects.toThrow(/no-such-file\.gguf.*looked in.*MODEL=synthetic:tiny/s);
  });

  it('names the valid choices for an unknown synthetic shape', async () => {
    await expect(load('synthetic:huge')).rejects.toThrow(/synthetic:tiny/);
  });
});

describe('A synthetic model file read once, as llama.cpp loads it', () => {
  const scratch = createScratchDir('aio-synthetic-');
  const modelsDir = scratch.dir;
  afterAll(() => scratch.remove());

  const file = () => syntheticModelPath(modelsDir, 'tiny');
  const loadTiny = async () => {
    const loaded = await loadModel({ model: 'synthetic:tiny', modelsDir, gpu: 'off', useMmap: false });
    await loaded.model.dispose();
    await loaded.llama.dispose();
    return loaded.source;
  };

  it('is written again when an older generator wrote it (its stamp, seen in the header llama.cpp read)', async () => {
    await copyFile(tinyModelPath, file());
    // The stamp's value, a uint32 after the key and its type, set to an older revision's.
    const bytes = await readFile(file());
    const at = bytes.indexOf(Buffer.from(SYNTHETIC_FORMAT_KEY)) + SYNTHETIC_FORMAT_KEY.length + 4;
    expect(bytes.readUInt32LE(at)).toBe(SYNTHETIC_FORMAT_VERSION);
    bytes.writeUInt32LE(SYNTHETIC_FORMAT_VERSION - 1, at);
    await writeFile(file(), bytes);
    expect(await isCurrentSyntheticModel(file())).toBe(false);

    const source = await loadTiny();
    expect(source).toMatchObject({ kind: 'synthetic', path: file(), synthetic: true });
    expect(await isCurrentSyntheticModel(file())).toBe(true);
  });

  it('warns, once loaded, that a model given by its path is synthetic', async () => {
    const warnings: string[] = [];
    const onWarning = (message: string) => void warnings.push(message);
    const loaded = await loadModel({ model: tinyModelPath, modelsDir, gpu: 'off', useMmap: false, onWarning });
    await loaded.model.dispose();
    await loaded.llama.dispose();
    expect(loaded.source).toMatchObject({ kind: 'file', path: tinyModelPath, synthetic: true });
    expect(warnings).toEqual([
      `${tinyModelPath} is a synthetic model with RANDOM weights: its sentiment labels and replies are meaningless.`,
    ]);
  });

  it('is written again when it starts as GGUF but is damaged, and used as it is when current', async () => {
    await writeFile(file(), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(64, 0xff)]));
    expect((await loadTiny()).synthetic).toBe(true);
    expect(await isCurrentSyntheticModel(file())).toBe(true);
    const written = (await stat(file())).mtimeMs;
    await loadTiny();
    expect((await stat(file())).mtimeMs).toBe(written);
  });
});
