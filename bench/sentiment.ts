// Benchmark 2: sentiment by label probabilities on a warm prefix vs the original generate-and-parse method,
// and what reading the label probabilities costs.
import { TokenBias, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import { benchModelPath, isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { loadBenchEngine } from './lib/engine.js';
import { labelFirstTokens, openRawContext, reusePrefix, sentimentPromptTokens } from './lib/rawModel.js';
import { figure } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { differences, summarize } from './lib/stats.js';
import { tokenizeParts } from '../src/engine/tokenizeParts.js';
import type { Engine, Locale } from '../src/engine/index.js';
import { classifyByGenerating } from '../src/eval/generateBaseline.js';

/** What the figures read of a call, by either method. */
interface SentimentCall {
  latencyMs: number;
  promptTokens: number;
  parsed: boolean;
}

/** Sentiment by its labels' probabilities, as the product runs it. */
async function byLabelProbabilities(engine: Engine, text: string, locale: Locale): Promise<SentimentCall> {
  const [result] = (await engine.runTasks(text, ['sentiment'], { locale })).results;
  return { latencyMs: result!.latencyMs, promptTokens: result!.promptTokens, parsed: true };
}

/** Ways to read the next-token distribution after the sentiment prompt, each timed on a decode of its last token. */
const READS = {
  plain: 'Decode with sampling, no probabilities (the floor)',
  top64: 'Top-64 candidates, default top-p (the engine before this benchmark)',
  full: 'Whole vocabulary',
  biased: 'Label tokens lifted by a logit bias, top-k = label tokens (the engine now)',
} as const;
type Read = keyof typeof READS;
const READ_ROUNDS = 5;

export const sentiment: Benchmark = {
  id: 'sentiment',
  title: '2. Sentiment: label probabilities vs generate-and-parse',
  async run(options) {
    const sentences = mixedSentences(options.sentences, sized(options, 8, 2));
    const engine = await loadBenchEngine(options);
    const logprob: SentimentCall[] = [];
    const generate: SentimentCall[] = [];
    try {
      // The first call per locale also evaluates the system prefix, which then stays warm.
      for (const locale of ['en', 'zh'] as const) await byLabelProbabilities(engine, 'Warm-up.', locale);
      for (let run = 0; run < options.runs; run += 1) {
        for (const { text, locale } of sentences) logprob.push(await byLabelProbabilities(engine, text, locale));
      }
      // Last, because the baseline clears task sequences (it evaluates its whole prompt every time).
      for (let run = 0; run < options.runs; run += 1) {
        for (const { text, locale } of sentences) generate.push(await classifyByGenerating(engine, text, { locale }));
      }
    } finally {
      await engine.dispose();
    }
    const reads = await measureReads(options, sentences);
    const userTokens = reads.userTokens;

    const readSummary = (read: Read) => summarize(reads.ms[read]);
    const oldMissRate = reads.top64Misses / reads.oldMethodMs.length;
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        sentences: `${sentences.length} (English and Chinese alternating)`,
        'baseline answer limit': '20 tokens',
      },
      figures: [
        figure({
          id: 'latency',
          label: 'Sentiment latency, label probabilities on the warm prefix',
          unit: 'ms',
          value: summarize(logprob.map((result) => result.latencyMs)),
          baseline: { label: 'original: full prompt, generate ≤ 20 tokens, parse', value: summarize(generate.map((result) => result.latencyMs)) },
          ratioOf: 'baseline/value',
          target: { on: 'ratio', op: '>=', threshold: 4 },
        }),
        figure({
          id: 'tokens-evaluated',
          label: 'Tokens evaluated per call',
          unit: 'tokens',
          value: summarize(logprob.map((result) => result.promptTokens)),
          baseline: { label: 'original (prompt only, before generating)', value: summarize(generate.map((result) => result.promptTokens)) },
        }),
        figure({
          id: 'suffix-tokens',
          label: 'Of which not the user\'s text (the fixed suffix)',
          unit: 'tokens',
          value: summarize(
            logprob.map((result, index) => result.promptTokens - userTokens[index % sentences.length]!),
          ),
          baseline: { label: 'the user\'s text', value: summarize(userTokens) },
        }),
        figure({
          id: 'read-cost',
          label: 'Cost of reading the label probabilities (last-token decode with the biased top-k read, minus without a read; paired)',
          unit: 'ms',
          value: summarize(differences(reads.ms.biased, reads.ms.plain)),
          baseline: { label: 'whole-vocabulary read minus plain decode', value: summarize(differences(reads.ms.full, reads.ms.plain)) },
        }),
        figure({
          id: 'read-before-after',
          label: 'Evaluating a sentiment query and reading its labels as the engine does now (one decode, bias + top-k)',
          unit: 'ms',
          value: summarize(reads.nowMethodMs),
          baseline: {
            label: 'as it did before: last token in a decode of its own, top-64, whole-vocabulary fallback',
            value: summarize(reads.oldMethodMs),
          },
          ratioOf: 'baseline/value',
        }),
      ],
      tables: [
        {
          title: 'Decoding the last token of a sentiment query, by way of reading the distribution',
          columns: ['Read', 'Median ms', 'Min ms', 'Max ms', 'Labels among the candidates'],
          rows: (Object.keys(READS) as Read[]).map((read) => {
            const summary = readSummary(read);
            const calls = reads.oldMethodMs.length;
            const found = read === 'plain' ? '—' : read === 'top64' ? `${calls - reads.top64Misses} of ${calls} calls` : 'always';
            return [READS[read], summary.median, summary.min, summary.max, found];
          }),
        },
        {
          title: 'Per sentence (first run)',
          columns: ['Locale', 'Characters', 'User tokens', 'Evaluated (logprob)', 'Evaluated (original)', 'logprob ms', 'original ms', 'Original answer parsed'],
          rows: sentences.map((sentence, index) => [
            sentence.locale,
            [...sentence.text].length,
            userTokens[index]!,
            logprob[index]!.promptTokens,
            generate[index]!.promptTokens,
            logprob[index]!.latencyMs,
            generate[index]!.latencyMs,
            generate[index]!.parsed ? 'yes' : 'no',
          ]),
        },
      ],
      notes: [
        'Latency is the engine\'s time for the call (queue wait excluded), in this process on the stand-in model.',
        `With random weights the old top-64 read found none of the label tokens in ${(oldMissRate * 100).toFixed(0)}% of ` +
          'calls and fell back to the whole vocabulary (about 150k entries copied and sorted) plus a re-evaluation of the ' +
          'last token. The engine now adds the same large logit bias to every label\'s first token and keeps only that ' +
          'many candidates: the labels are always there, their ratios (and so the normalized scores) are unchanged, and ' +
          'top-p is disabled so that no label is cut. A unit test checks the scores against the whole-vocabulary ones.',
        'The engine also evaluates the last chunk of a prompt in the same decode that reads the distribution; before, ' +
          'the last token had a decode of its own, which cost about one token-time per call.',
        'The original method\'s answers on the stand-in are random text, so most are not parsed (they count as neutral); ' +
          'its cost is the real one: the whole prompt every time, then up to 20 generated tokens.',
      ],
    };
  },
};

interface ReadMeasurements {
  ms: Record<Read, number[]>;
  /** Per call, evaluating the query and reading the labels as the engine does now, and as it did before. */
  nowMethodMs: number[];
  oldMethodMs: number[];
  top64Misses: number;
  /** Tokens of each sentence's text alone. */
  userTokens: number[];
}

/** Times each way of reading, on a raw context with the same model and threads, the prefix kept warm. */
async function measureReads(options: Parameters<Benchmark['run']>[0], sentences: Sentence[]): Promise<ReadMeasurements> {
  const raw = await openRawContext({ modelPath: await benchModelPath(options), threads: options.threads });
  const sequences: Record<Locale, LlamaContextSequence> = { en: raw.context.getSequence(), zh: raw.context.getSequence() };
  const result: ReadMeasurements = {
    ms: { plain: [], top64: [], full: [], biased: [] },
    nowMethodMs: [],
    oldMethodMs: [],
    top64Misses: 0,
    userTokens: sentences.map((sentence) => tokenizeParts(raw.model, [{ text: sentence.text, trusted: false }]).length),
  };
  try {
    for (const locale of ['en', 'zh'] as const) {
      await sequences[locale].evaluateWithoutGeneratingNewTokens(sentimentPromptTokens(raw.model, '', locale).prefix);
    }
    for (let run = 0; run < options.runs; run += 1) {
      for (const { text, locale } of sentences) {
        const labels = labelFirstTokens(raw.model, locale);
        const { prefix, query } = sentimentPromptTokens(raw.model, text, locale);
        const tokens = [...prefix, ...query];
        const head = tokens.slice(0, -1);
        await sequences[locale].evaluateWithoutGeneratingNewTokens(await reusePrefix(sequences[locale], head));
        // Everything but the last token resident, so the timed decode is one token and the read stands out; a
        // one-token decode is short and noisy on a shared CPU, hence several rounds in rotating order.
        const reads = Object.keys(READS) as Read[];
        for (let round = 0; round < READ_ROUNDS; round += 1) {
          for (const read of [...reads.slice(round % reads.length), ...reads.slice(0, round % reads.length)]) {
            const pending = await reusePrefix(sequences[locale], tokens);
            result.ms[read].push((await timedRead(raw.model, sequences[locale], pending, read, labels)).ms);
          }
        }
        // The whole query in one decode with the biased read: what a call costs now, besides scheduling.
        await reusePrefix(sequences[locale], [...prefix, query[0]!]);
        const now = await timedRead(raw.model, sequences[locale], await reusePrefix(sequences[locale], tokens), 'biased', labels);
        result.nowMethodMs.push(now.ms);
        // The engine before this benchmark: the query minus its last token in one decode, the last token in a
        // decode of its own reading the top 64, and when no label was among them that token again, reading everything.
        await reusePrefix(sequences[locale], [...prefix, query[0]!]);
        const startedAt = performance.now();
        await sequences[locale].evaluateWithoutGeneratingNewTokens(query.slice(0, -1));
        const { candidates } = await timedRead(raw.model, sequences[locale], query.slice(-1), 'top64', labels);
        if (!labels.some((token) => candidates.has(token))) {
          result.top64Misses += 1;
          await timedRead(raw.model, sequences[locale], await reusePrefix(sequences[locale], tokens), 'full', labels);
        }
        result.oldMethodMs.push(performance.now() - startedAt);
      }
    }
  } finally {
    await raw.dispose();
  }
  return result;
}

async function timedRead(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  pending: Token[],
  read: Read,
  labels: Token[],
): Promise<{ ms: number; candidates: Map<Token, number> }> {
  const bias = new TokenBias(model.tokenizer);
  for (const token of labels) bias.set(token, { logit: 1000 });
  const sampling = {
    plain: { temperature: 1, topK: 64, seed: 0 },
    top64: { temperature: 1, topK: 64, seed: 0 },
    full: { temperature: 0 },
    biased: { temperature: 1, topK: labels.length, topP: 1, seed: 0, tokenBias: bias },
  }[read];
  const startedAt = performance.now();
  const generator = sequence.evaluateWithMetadata(pending, { probabilities: read !== 'plain' }, sampling);
  try {
    const first = await generator.next();
    const ms = performance.now() - startedAt;
    const candidates = !first.done && 'probabilities' in first.value ? (first.value.probabilities as Map<Token, number>) : new Map();
    return { ms, candidates };
  } finally {
    await generator.return();
  }
}

if (isMainModule(import.meta.url)) await runStandalone(sentiment);
