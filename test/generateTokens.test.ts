// The one token loop on the real node-llama-cpp with the tiny model: what each of its scheduler steps says it is, which
// the step batcher decides by (a streamed reply's first tokens may have new prompts fill the decode beside them).
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateTokens } from '../src/engine/generateTokens.js';
import type { JobContext, JobKind } from '../src/engine/Scheduler.js';
import { takeSequences } from '../src/engine/sequenceIds.js';
import { STARTING_REPLY_TOKENS, type StepShape } from '../src/engine/StepBatcher.js';
import { TEST_THREADS } from './support/testApp.js';

describe('generateTokens', () => {
  let model: LlamaModel;
  let context: LlamaContext;

  beforeAll(async () => {
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false });
    model = await llama.loadModel({ modelPath: inject('tinyModelPath') });
    context = await model.createContext({ contextSize: 512, sequences: 2, threads: TEST_THREADS });
  });

  afterAll(async () => {
    await context.dispose();
    await model.dispose();
  });

  /** Runs `tokens` tokens of an answer for a job of `kind`, and gives the shape of every step it took. */
  async function stepShapes(kind: JobKind, tokens: number): Promise<StepShape[]> {
    const shapes: StepShape[] = [];
    const job: JobContext = {
      kind,
      signal: new AbortController().signal,
      yield: async () => {},
      step: async (work, shape) => {
        shapes.push(shape);
        return work();
      },
    };
    const [sequence] = takeSequences(context, 1);
    try {
      const prompt = model.tokenize('<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n', true);
      const options = { temperature: 0 };
      let generated = 0;
      for await (const _token of generateTokens(job, sequence!, prompt, options, () => {})) {
        generated += 1;
        if (generated === tokens) break;
      }
    } finally {
      sequence!.dispose();
    }
    return shapes;
  }

  it("marks a streamed reply's first token steps as starting, and the rest not", async () => {
    const tokens = STARTING_REPLY_TOKENS + 4;
    const shapes = (await stepShapes('chat', tokens)).filter((shape) => shape.generating);
    // The first token comes with the prompt's decode; each next one is a step of its own.
    expect(shapes).toHaveLength(tokens - 1);
    expect(shapes.map((shape) => shape.starting === true)).toEqual(
      Array.from({ length: tokens - 1 }, (_, index) => index + 1 < STARTING_REPLY_TOKENS),
    );
  });

  it("never marks the tokens of an answer nobody watches arrive (an extraction's)", async () => {
    const shapes = await stepShapes('extract', 6);
    const tokenSteps = shapes.filter((shape) => shape.tokens === 1);
    expect(tokenSteps.length).toBeGreaterThanOrEqual(5);
    for (const shape of tokenSteps) expect(shape).toMatchObject({ generating: false });
    expect(shapes.some((shape) => shape.starting === true)).toBe(false);
  });
});
