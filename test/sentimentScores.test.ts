// The label scores read through a logit bias and a short top-k equal those from the whole next-token distribution;
// sentiment, one task defined once, is scored on the original product's prompt and label spellings.
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Locale } from '../src/engine/prompts.js';
import type { JobContext } from '../src/engine/Scheduler.js';
import { takeSequences } from '../src/engine/sequenceIds.js';
import { PrefixStates } from '../src/engine/PrefixStates.js';
import { SENTIMENT_DEFINITION, SENTIMENT_LABELS } from '../src/engine/tasks/builtinTasks.js';
import { Classifier } from '../src/engine/tasks/Classifier.js';
import { classifierTaskOf } from '../src/engine/tasks/taskPrompts.js';
import { MERGED_REMAINDER_TOKENS, PROMPT_CHUNK_TOKENS } from '../src/engine/syncSequence.js';
import { tokenizeParts, tokenizeText } from '../src/engine/tokenizeParts.js';

const SENTIMENT_TASK = classifierTaskOf(SENTIMENT_DEFINITION);
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
    const { prefix, suffix } = SENTIMENT_TASK.prompts[locale];
    const prompt = [...tokenizeParts(model, prefix), ...tokenizeText(model, text), ...tokenizeParts(model, suffix)];
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
        const firstTokens = new Set(SENTIMENT_TASK.prompts[locale].spellings[label]!.map((spelling) => model.tokenize(spelling)[0]!));
        return [label, [...firstTokens].reduce((sum, token) => sum + (value!.probabilities.get(token) ?? 0), 0)];
      }),
    );
    const total = mass.positive! + mass.negative! + mass.neutral!;
    return { positive: mass.positive! / total, negative: mass.negative! / total, neutral: mass.neutral! / total };
  } finally {
    sequence.dispose();
  }
}

describe('sentiment label scores', () => {
  it("are read on the original product's prompt, from the spellings the catalogue shows", () => {
    // The prompt the sentiment scores were always read on, word for word: the definition must reproduce it.
    expect(SENTIMENT_TASK.prompts.en.prefix.map((part) => part.text).join('')).toBe(
      '<|im_start|>system\nYou are a cold, precise sentiment analyst who only cares about emotional polarity. ' +
        "Classify the user's text as positive, negative or neutral. Answer with exactly one word, no explanation." +
        '<|im_end|>\n<|im_start|>user\n',
    );
    expect(SENTIMENT_TASK.prompts.en.suffix.map((part) => part.text).join('')).toBe('<|im_end|>\n<|im_start|>assistant\nSentiment:');
    expect(SENTIMENT_TASK.prompts.zh.prefix.map((part) => part.text).join('')).toBe(
      '<|im_start|>system\n你是一个冷酷的情感分析师，只关注情绪极性。判断用户输入内容的情绪倾向，' +
        '只回答“正面”“负面”或“中性”中的一个词。禁止解释、禁止扩展、禁止换行。<|im_end|>\n<|im_start|>user\n',
    );
    expect(SENTIMENT_TASK.prompts.zh.suffix.map((part) => part.text).join('')).toBe('<|im_end|>\n<|im_start|>assistant\n');
    // The English answer lead ends before the label, so the scored spelling is the catalogue's with its leading space.
    for (const label of SENTIMENT_DEFINITION.labels) {
      expect(SENTIMENT_TASK.prompts.en.spellings[label.name]).toEqual(label.spellings.en.map((spelling) => ` ${spelling}`));
      expect(SENTIMENT_TASK.prompts.zh.spellings[label.name]).toEqual(label.spellings.zh);
    }
    expect(SENTIMENT_TASK.prompts.en.spellings).toEqual({
      positive: [' positive', ' Positive'],
      negative: [' negative', ' Negative'],
      neutral: [' neutral', ' Neutral'],
    });
    expect(SENTIMENT_TASK.prompts.zh.spellings).toEqual({ positive: ['正面'], negative: ['负面'], neutral: ['中性'] });
  });

  it('match the normalized label probabilities of the full vocabulary distribution', async () => {
    const classifier = new Classifier(model, states);
    classifier.add(SENTIMENT_TASK);
    const sequence = takeSequences(context, 1)[0]!;
    expect(classifier.scoringMethod('sentiment', 'zh')).toBe('first-token');
    // Two texts in a row: the second also exercises the warm prefix and the erasing of the first text.
    for (const text of ['今天的实验终于成功了，太棒了！', '服务太差了，再也不来了。']) {
      const result = await classifier.classify(job, sequence, SENTIMENT_TASK, 'zh', tokenizeText(model, text));
      const reference = await fullDistributionScores('zh', text);
      // Equal up to float noise (the warm prefix splits the second text's chunks differently); a wrong read
      // (a label cut by top-k or top-p, a bias that changed the ratios) is off by far more.
      for (const label of SENTIMENT_LABELS) expect(result.scores[label]).toBeCloseTo(reference[label], 3);
    }
  });
});
