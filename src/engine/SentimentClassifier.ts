// Sentiment from one small model: label probabilities after a warm, state-isolated prompt, or the original's parse.
import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import {
  baselineSentimentPrompt,
  LABEL_CONTINUATIONS,
  parseBaselineAnswer,
  SENTIMENT_LABELS,
  sentimentDisplay,
  sentimentEmoji,
  sentimentPrefix,
  sentimentQuery,
  type Locale,
  type SentimentLabel,
} from './prompts.js';
import type { JobContext } from './Scheduler.js';
import { syncSequence } from './syncSequence.js';
import { tokenizeParts } from './tokenizeParts.js';

export type SentimentMethod = 'logprob' | 'generate';
export type SentimentScores = Record<SentimentLabel, number>;

export interface SentimentResult {
  label: SentimentLabel;
  /** Probability of the chosen label. */
  confidence: number;
  /** Probabilities of the three labels, summing to 1. */
  scores: SentimentScores;
  emoji: string;
  /** The original product's display line, e.g. `😄 LLM 情感判断: 正面`. */
  display: string;
  locale: Locale;
  method: SentimentMethod;
  /** Engine time for this text, queue wait excluded. */
  latencyMs: number;
  /** Tokens this call evaluated (the warm system prefix is not counted: it was already in the cache). */
  promptTokens: number;
  /** `generate` only: false when the answer named no label (then the scores are uniform). */
  parsed: boolean;
  /** `generate` only: what the model wrote. */
  rawAnswer?: string;
}

/**
 * Candidates read per call. The top-k list comes back from the native side already sorted and short;
 * asking for the whole vocabulary costs a sort and a copy of ~150k entries per call.
 */
const LABEL_CANDIDATES_TOP_K = 64;
const BASELINE_MAX_TOKENS = 20;

interface LocalePlan {
  prefixTokens: Token[];
  /** Token sequences of every spelling of every label. */
  spellings: { label: SentimentLabel; tokens: Token[] }[];
  /** When every label's spellings start with tokens no other label uses, one distribution decides. */
  firstTokensDecide: boolean;
}

export class SentimentClassifier {
  readonly #model: LlamaModel;
  readonly #sequences: Record<Locale, LlamaContextSequence>;
  readonly #plans: Record<Locale, LocalePlan>;

  constructor(model: LlamaModel, sequences: Record<Locale, LlamaContextSequence>) {
    this.#model = model;
    this.#sequences = sequences;
    this.#plans = { zh: this.#plan('zh'), en: this.#plan('en') };
  }

  /** Whether one forward pass suffices for this locale with the loaded tokenizer (checked once at load). */
  usesSinglePass(locale: Locale): boolean {
    return this.#plans[locale].firstTokensDecide;
  }

  async classify(job: JobContext, text: string, locale: Locale, method: SentimentMethod): Promise<SentimentResult> {
    const startedAt = performance.now();
    const outcome =
      method === 'logprob' ? await this.#scoreLabels(job, text, locale) : await this.#generateAndParse(job, text, locale);
    // An unparseable baseline answer says nothing, which is what NEUTRAL means here.
    const label = outcome.parsed
      ? SENTIMENT_LABELS.reduce((best, candidate) => (outcome.scores[candidate] > outcome.scores[best] ? candidate : best))
      : 'neutral';
    return {
      label,
      confidence: outcome.scores[label],
      scores: outcome.scores,
      emoji: sentimentEmoji(label),
      display: sentimentDisplay(label, locale),
      locale,
      method,
      latencyMs: performance.now() - startedAt,
      promptTokens: outcome.promptTokens,
      parsed: outcome.parsed,
      ...(outcome.rawAnswer === undefined ? {} : { rawAnswer: outcome.rawAnswer }),
    };
  }

  #plan(locale: Locale): LocalePlan {
    const spellings = SENTIMENT_LABELS.flatMap((label) =>
      LABEL_CONTINUATIONS[locale][label].map((spelling) => ({
        label,
        tokens: tokenizeParts(this.#model, [{ text: spelling, trusted: false }]),
      })),
    );
    const firstTokenOwner = new Map<Token, SentimentLabel>();
    let firstTokensDecide = true;
    for (const { label, tokens } of spellings) {
      const owner = firstTokenOwner.get(tokens[0]!);
      if (owner !== undefined && owner !== label) firstTokensDecide = false;
      firstTokenOwner.set(tokens[0]!, label);
    }
    return { prefixTokens: tokenizeParts(this.#model, sentimentPrefix(locale)), spellings, firstTokensDecide };
  }

  async #scoreLabels(job: JobContext, text: string, locale: Locale) {
    const plan = this.#plans[locale];
    const sequence = this.#sequences[locale];
    const promptTokens = [...plan.prefixTokens, ...tokenizeParts(this.#model, sentimentQuery(locale, text))];
    let promptTokensEvaluated = 0;

    const distributionAfter = async (tokens: readonly Token[], topK: number) => {
      promptTokensEvaluated += (await syncSequence(job, sequence, tokens.slice(0, -1))) + 1;
      return job.step(() => readNextTokenDistribution(sequence, tokens.at(-1)!, topK));
    };

    const mass: SentimentScores = { positive: 0, negative: 0, neutral: 0 };
    if (plan.firstTokensDecide) {
      let distribution = await distributionAfter(promptTokens, LABEL_CANDIDATES_TOP_K);
      const firstTokens = new Set(plan.spellings.map(({ tokens }) => tokens[0]!));
      if (![...firstTokens].some((token) => distribution.has(token))) {
        // No label made the top-k (only plausible with an untrained model): read the whole vocabulary.
        distribution = await distributionAfter(promptTokens, 0);
      }
      const counted = new Set<Token>();
      for (const { label, tokens } of plan.spellings) {
        if (counted.has(tokens[0]!)) continue;
        counted.add(tokens[0]!);
        mass[label] += distribution.get(tokens[0]!) ?? 0;
      }
    } else {
      // Labels share a first token: score each spelling's whole continuation, token by token.
      for (const { label, tokens } of plan.spellings) {
        let probability = 1;
        for (let index = 0; index < tokens.length && probability > 0; index += 1) {
          const distribution = await distributionAfter([...promptTokens, ...tokens.slice(0, index)], 0);
          probability *= distribution.get(tokens[index]!) ?? 0;
        }
        mass[label] += probability;
      }
    }
    return { scores: normalize(mass), promptTokens: promptTokensEvaluated, parsed: true, rawAnswer: undefined };
  }

  async #generateAndParse(job: JobContext, text: string, locale: Locale) {
    const sequence = this.#sequences[locale];
    const promptTokens = tokenizeParts(this.#model, baselineSentimentPrompt(locale, text));
    // The original method evaluates its whole prompt every time: no prefix reuse.
    await job.step(() => sequence.clearHistory());
    const evaluated = (await syncSequence(job, sequence, promptTokens.slice(0, -1))) + 1;
    const generator = sequence.evaluate([promptTokens.at(-1)!], { temperature: 0 });
    const answerTokens: Token[] = [];
    try {
      while (answerTokens.length < BASELINE_MAX_TOKENS) {
        const next = await job.step(() => generator.next());
        if (next.done) break;
        answerTokens.push(next.value);
      }
    } finally {
      await generator.return();
    }
    const rawAnswer = this.#model.detokenize(answerTokens);
    const parsedLabel = parseBaselineAnswer(rawAnswer);
    const scores: SentimentScores = parsedLabel
      ? { positive: 0, negative: 0, neutral: 0, [parsedLabel]: 1 }
      : { positive: 1 / 3, negative: 1 / 3, neutral: 1 / 3 };
    return { scores, promptTokens: evaluated, parsed: parsedLabel !== undefined, rawAnswer };
  }
}

/** Evaluates one token and returns the next-token probabilities: the top `topK`, or all when 0. */
async function readNextTokenDistribution(
  sequence: LlamaContextSequence,
  token: Token,
  topK: number,
): Promise<Map<Token, number>> {
  // Temperature 1 keeps the logits as they are; with temperature 0 the sampler is greedy and returns all of them.
  const options = topK > 0 ? { temperature: 1, topK, seed: 0 } : { temperature: 0 };
  const generator = sequence.evaluateWithMetadata([token], { probabilities: true }, options);
  try {
    const first = await generator.next();
    return first.done ? new Map() : first.value.probabilities;
  } finally {
    await generator.return();
  }
}

function normalize(mass: SentimentScores): SentimentScores {
  const total = mass.positive + mass.negative + mass.neutral;
  if (!(total > 0)) return { positive: 1 / 3, negative: 1 / 3, neutral: 1 / 3 };
  return { positive: mass.positive / total, negative: mass.negative / total, neutral: mass.neutral / total };
}
