// The label scores read through a logit bias and a short top-k equal those from the whole next-token distribution.
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABEL_CONTINUATIONS, SENTIMENT_LABELS, sentimentPrefix, sentimentQuery, type Locale } from '../src/engine/prompts.js';
import type { JobContext } from '../src/engine/Scheduler.js';
import { PrefixStates } from '../src/engine/PrefixStates.js';
import { SentimentClassifier } from '../src/engine/SentimentClassifier.js';
import { Classifier } from '../src/engine/tasks/Classifier.js';
import { SENTIMENT_TASK } from '../src/engine/tasks/sentimentTask.js';
import { MERGED_REMAINDER_TOKENS, PROMPT_CHUNK_TOKENS } from '../src/engine/syncSequence.js';
import { tokenizeParts } from '../src/engine/tokenizeParts.js';
import { TEST_THREADS } from './support/testApp.js';

let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;
let states: PrefixStates;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false });
  model = await llama.loadModel({ modelPath: inject('tinyModelPath') });
  context = await model.createContext({ contextSize: 1024, sequences: 3, threads: TEST_THREADS });
  states = await PrefixStates.create();
});

afterAll(async () => {
  await states.dispose();
  await context.dispose();
  await model.dispose();
});

const job: JobContext = { kind: 'sentiment', signal: new AbortController().signal, step: (work) => work(), yield: async () => {} };

/** The reference: every label's first-token probability from the full distribution, normalized over the labels. */
async function fullDistributionScores(locale: Locale, text: string) {
  const sequence = context.getSequence();
  try {
    const prompt = [...tokenizeParts(model, sentimentPrefix(locale)), ...tokenizeParts(model, sentimentQuery(locale, text))];
    // Chunked like the classifier, so both see the same logits: llama.cpp's numerics vary slightly with batch size.
    let start = 0;
    for (; prompt.length - start > PROMPT_CHUNK_TOKENS + MERGED_REMAINDER_TOKENS; start += PROMPT_CHUNK_TOKENS) {
      await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(start, start + PROMPT_CHUNK_TOKENS));
    }
    const generator = sequence.evaluateWithMetadata(prompt.slice(start), { probabilities: true }, { temperature: 0 });
    const { value } = await generator.next();
    await generator.return();
    const mass = Object.fromEntries(
      SENTIMENT_LABELS.map((label) => {
        const firstTokens = new Set(LABEL_CONTINUATIONS[locale][label].map((spelling) => model.tokenize(spelling)[0]!));
        return [label, [...firstTokens].reduce((sum, token) => sum + (value!.probabilities.get(token) ?? 0), 0)];
      }),
    );
    const total = mass.positive! + mass.negative! + mass.neutral!;
    return { positive: mass.positive! / total, negative: mass.negative! / total, neutral: mass.neutral! / total };
  } finally {
    sequence.dispose();
  }
}

describe('SentimentClassifier label scores', () => {
  it('match the normalized label probabilities of the full vocabulary distribution', async () => {
    const scorer = new Classifier(model, states);
    scorer.add(SENTIMENT_TASK);
    const classifier = new SentimentClassifier(model, scorer);
    const sequence = context.getSequence();
    expect(classifier.usesSinglePass('zh')).toBe(true);
    // Two texts in a row: the second also exercises the warm prefix and the erasing of the first text.
    for (const text of ['今天的实验终于成功了，太棒了！', '服务太差了，再也不来了。']) {
      const result = await classifier.classify(job, sequence, text, 'zh', 'logprob');
      const reference = await fullDistributionScores('zh', text);
      // Equal up to float noise (the warm prefix splits the second text's chunks differently); a wrong read
      // (a label cut by top-k or top-p, a bias that changed the ratios) is off by far more.
      for (const label of SENTIMENT_LABELS) expect(result.scores[label]).toBeCloseTo(reference[label], 3);
    }
  });
});
