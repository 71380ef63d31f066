// Continuous batching on the real node-llama-cpp with the tiny model: every generating reply in one decode per step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineBusyError, TimeoutError, type ChatStream, type Engine, type EngineOptions } from '../src/engine/index.js';
import { classifySentiment } from './support/sentiment.js';
import { loadTestEngine } from './support/testApp.js';

const leftovers: Engine[] = [];

async function openEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  const engine = await loadTestEngine({ contextSize: 1024, maxParallelReplies: 4, warmConversations: 4, ...overrides });
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

const MESSAGES = [
  'Tell me about the sea.',
  '讲一个关于山的故事。',
  'What is a good breakfast?',
  'Describe a city at night.',
];

describe('replies decoded together', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await openEngine();
  });

  it('gives every reply the same tokens at temperature 0 as when it decodes alone', async () => {
    const alone: string[] = [];
    for (const message of MESSAGES) {
      const stream = engine.chat({ history: [], message, temperature: 0, maxTokens: 40 });
      await collect(stream);
      alone.push((await stream.result).text);
    }
    const before = engine.status().averageStepsPerCycle;
    const together = await Promise.all(
      MESSAGES.map(async (message) => {
        const stream = engine.chat({ history: [], message, temperature: 0, maxTokens: 40 });
        await collect(stream);
        return (await stream.result).text;
      }),
    );
    expect(together).toEqual(alone);
    // They really shared decodes: on average well over one step per decode once all four ran at once.
    expect(engine.status().averageStepsPerCycle).toBeGreaterThan(before);
  });

  it('carries the next token of every running reply in each decode', async () => {
    const fresh = await openEngine();
    const streams = MESSAGES.map((message) => fresh.chat({ history: [], message, temperature: 0, maxTokens: 60 }));
    await Promise.all(streams.map(collect));
    const results = await Promise.all(streams.map((stream) => stream.result));
    const generated = results.reduce((sum, result) => sum + result.completionTokens, 0);
    // 4 × 60 tokens took far fewer decodes than tokens: most decodes carried all four replies.
    expect(fresh.status().averageStepsPerCycle).toBeGreaterThan(2.5);
    expect(generated).toBe(240);
  });

  it('stops a reply aborted inside a batch within one step, while its batch-mates go on to the end', async () => {
    const controller = new AbortController();
    const aborted = engine.chat(
      { history: [], message: MESSAGES[0]!, temperature: 0, maxTokens: 300 },
      { signal: controller.signal },
    );
    const mates = MESSAGES.slice(1).map((message) => engine.chat({ history: [], message, temperature: 0, maxTokens: 80 }));
    const deltas: string[] = [];
    for await (const delta of aborted) {
      deltas.push(delta);
      if (deltas.length === 5) controller.abort();
    }
    const result = await aborted.result;
    expect(result.finishReason).toBe('aborted');
    expect(result.completionTokens).toBeLessThan(5 + 6);
    await Promise.all(mates.map(collect));
    for (const mate of await Promise.all(mates.map((stream) => stream.result))) {
      expect(mate.finishReason).toBe('length');
      expect(mate.completionTokens).toBe(80);
    }
  });

  it('fails a reply that runs past its time limit inside a batch, and the others are unaffected', async () => {
    const timed = await openEngine({ jobTimeoutMs: 400, contextSize: 4096 });
    const long = timed.chat({ history: [], message: 'A very long story please.', temperature: 0, maxTokens: 4000 });
    const shorts = MESSAGES.slice(1).map((message) => timed.chat({ history: [], message, temperature: 0, maxTokens: 8 }));
    await expect(collect(long)).rejects.toBeInstanceOf(TimeoutError);
    await Promise.all(shorts.map(collect));
    for (const short of await Promise.all(shorts.map((stream) => stream.result))) expect(short.completionTokens).toBe(8);
    expect(timed.status().runningJobs).toEqual([]);
  });

  it('serves a sentiment query during four batched replies within a few decodes', async () => {
    const streams = MESSAGES.map((message) => engine.chat({ history: [], message, temperature: 0, maxTokens: 400 }));
    const counts = streams.map(() => 0);
    const consumed = streams.map(async (stream, index) => {
      for await (const _ of stream) counts[index]! += 1;
    });
    while (counts.some((count) => count < 3)) await new Promise((resolve) => setTimeout(resolve, 1));
    const before = [...counts];
    const sentiment = await classifySentiment(engine, 'A quick question while you talk.', { locale: 'en' });
    expect(sentiment.label).toMatch(/positive|negative|neutral/);
    // Each reply moved on only a few tokens meanwhile: the query did not wait for the replies to end.
    counts.forEach((count, index) => expect(count - before[index]!).toBeLessThan(12));
    await Promise.all(consumed);
    for (const result of await Promise.all(streams.map((stream) => stream.result)))
      expect(result.completionTokens).toBe(400);
  });
});

describe('fair share across keys', () => {
  it("serves key B's one job before key A's backlog, and refuses A's flood before B", async () => {
    const engine = await openEngine({ maxParallelReplies: 1, warmConversations: 1, maxQueue: 16, maxQueuePerKey: 4 });
    const finished: string[] = [];
    const flood = Array.from({ length: 6 }, (_, index) => {
      const stream = engine.chat({ history: [], message: `A ${index}`, temperature: 0, maxTokens: 12 }, { key: 'A' });
      return collect(stream).then(
        () => void finished.push(`A${index}`),
        (error: unknown) => {
          if (!(error instanceof EngineBusyError)) throw error;
          finished.push(`A${index}:busy:${error.retryAfterMs}`);
        },
      );
    });
    const single = engine.chat({ history: [], message: 'B', temperature: 0, maxTokens: 12 }, { key: 'B' });
    const b = collect(single).then(() => void finished.push('B0'));
    await Promise.all([...flood, b]);
    // A0 was running; A1–A4 waited (A's share of the queue); A5 was refused at once, with a retry hint.
    expect(finished.filter((entry) => entry.includes(':busy:'))).toEqual([expect.stringMatching(/^A5:busy:\d+$/)]);
    // B's one job ran right after the job that was running when it came, not behind A's four waiting ones.
    expect(finished.filter((entry) => !entry.includes(':busy:'))).toEqual(['A0', 'B0', 'A1', 'A2', 'A3', 'A4']);
  });
});

describe('a long input', () => {
  it('holds one task sequence only: a short query sent behind the longest accepted text is answered while it runs', async () => {
    const engine = await openEngine({ contextSize: 4096, maxInputChars: 4000 });
    // Distinct short words tokenize to about one token each: close to the most a 4,096-token context accepts.
    const longest = Array.from({ length: 3900 }, (_, index) => `w${index % 97}`)
      .join(' ')
      .slice(0, 4000);
    const started = performance.now();
    let longDone = 0;
    const long = classifySentiment(engine, longest, { locale: 'en' }).then((result) => {
      longDone = performance.now();
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const short = await classifySentiment(engine, 'short and sweet', { locale: 'en' });
    const shortDone = performance.now();
    expect(short.label).toMatch(/positive|negative|neutral/);
    // The short one did not wait for the long one: it was answered first, while the long text was still evaluated.
    expect(longDone).toBe(0);
    const result = await long;
    expect(result.promptTokens).toBeGreaterThan(2000);
    console.log(
      `short query answered after ${Math.round(shortDone - started)} ms, the long one after ${Math.round(longDone - started)} ms`,
    );
  });
});

describe('answers nobody watches arrive', () => {
  it("takes an extraction's generated tokens as fair-turn steps, not riding every decode as a streamed reply's do", async () => {
    const cycles: { generating: number; steps: number }[] = [];
    const engine = await openEngine({ contextSize: 2048, onCycle: (report) => cycles.push(report) });
    const [extraction] = (await engine.runTasks('The hotel was quiet, the breakfast cold and the staff kind.', ['keywords'])).results;
    expect(extraction?.kind).toBe('extract');
    // The extraction generated its answer token by token, and none of those steps counted as a streamed token.
    expect(cycles.length).toBeGreaterThan(3);
    expect(cycles.every((cycle) => cycle.generating === 0)).toBe(true);
    cycles.length = 0;
    const stream = engine.chat({ history: [], message: 'Tell me about the sea.', temperature: 0, maxTokens: 8 });
    await collect(stream);
    await stream.result;
    // A chat reply's tokens are streamed: they ride every decode.
    expect(cycles.filter((cycle) => cycle.generating > 0).length).toBeGreaterThan(3);
  });
});
