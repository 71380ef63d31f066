// Sentiment from one small model: label probabilities after a warm, state-isolated prompt, or the original's parse.
import { TokenBias, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
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
 * Added to the logits of the labels' first tokens before the top-k cut, so exactly those tokens survive it.
 * The same offset on every label leaves their ratios, and so the normalized scores, unchanged; reading only
 * these few candidates avoids copying and sorting the whole ~150k-entry vocabulary on every call (an
 * untrained model rarely ranks any label in its top 64, which used to force that full read).
 */
const LABEL_LOGIT_BIAS = 1000;
const BASELINE_MAX_TOKENS = 20;

interface LocalePlan {
  prefixTokens: Token[];
  /** Token sequences of every spelling of every label. */
  spellings: { label: SentimentLabel; tokens: Token[] }[];
  /** When every label's spellings start with tokens no other label uses, one distribution decides. */
  firstTokensDecide: boolean;
  /** The distinct first tokens of all spellings, and the bias that lifts them to the top of the distribution. */
  firstTokens: Set<Token>;
  firstTokenBias: TokenBias;
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

  /** Evaluates the locale's constant system prefix, so the first classification evaluates only its own text. */
  async warmUp(job: JobContext, locale: Locale): Promise<void> {
    const sequence = this.#sequences[locale];
    await syncSequence(job, sequence, this.#plans[locale].prefixTokens, (pending) =>
      sequence.evaluateWithoutGeneratingNewTokens(pending),
    );
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
    const firstTokens = new Set(spellings.map(({ tokens }) => tokens[0]!));
    const firstTokenBias = new TokenBias(this.#model.tokenizer);
    for (const token of firstTokens) firstTokenBias.set(token, { logit: LABEL_LOGIT_BIAS });
    return {
      prefixTokens: tokenizeParts(this.#model, sentimentPrefix(locale)),
      spellings,
      firstTokensDecide,
      firstTokens,
      firstTokenBias,
    };
  }

  async #scoreLabels(job: JobContext, text: string, locale: Locale) {
    const plan = this.#plans[locale];
    const sequence = this.#sequences[locale];
    const promptTokens = [...plan.prefixTokens, ...tokenizeParts(this.#model, sentimentQuery(locale, text))];
    let promptTokensEvaluated = 0;

    const distributionAfter = async (tokens: readonly Token[], read: DistributionRead) => {
      const synced = await syncSequence(job, sequence, tokens, (pending) =>
        readNextTokenDistribution(sequence, pending, read),
      );
      promptTokensEvaluated += synced.evaluated;
      return synced.value;
    };

    const mass: SentimentScores = { positive: 0, negative: 0, neutral: 0 };
    if (plan.firstTokensDecide) {
      let distribution = await distributionAfter(promptTokens, { only: plan.firstTokens, bias: plan.firstTokenBias });
      if (![...plan.firstTokens].every((token) => distribution.has(token))) {
        // Only if some logit beat a label's by more than the bias: read the whole vocabulary.
        distribution = await distributionAfter(promptTokens, 'all');
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
          const distribution = await distributionAfter([...promptTokens, ...tokens.slice(0, index)], 'all');
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
    let generator: ReturnType<LlamaContextSequence['evaluate']> | undefined;
    const answerTokens: Token[] = [];
    let evaluated = 0;
    try {
      const synced = await syncSequence(job, sequence, promptTokens, (pending) => {
        generator = sequence.evaluate(pending, { temperature: 0 });
        return generator.next();
      });
      evaluated = synced.evaluated;
      let next = synced.value;
      while (!next.done) {
        answerTokens.push(next.value);
        if (answerTokens.length >= BASELINE_MAX_TOKENS) break;
        next = await job.step(() => generator!.next());
      }
    } finally {
      await generator?.return();
    }
    const rawAnswer = this.#model.detokenize(answerTokens);
    const parsedLabel = parseBaselineAnswer(rawAnswer);
    const scores: SentimentScores = parsedLabel
      ? { positive: 0, negative: 0, neutral: 0, [parsedLabel]: 1 }
      : { positive: 1 / 3, negative: 1 / 3, neutral: 1 / 3 };
    return { scores, promptTokens: evaluated, parsed: parsedLabel !== undefined, rawAnswer };
  }
}

/** Which next-token probabilities to read: only some tokens (lifted to the top by a bias), or the whole vocabulary. */
type DistributionRead = { only: ReadonlySet<Token>; bias: TokenBias } | 'all';

/** Evaluates the pending tokens and returns the next-token probabilities that `read` asks for. */
async function readNextTokenDistribution(
  sequence: LlamaContextSequence,
  pending: Token[],
  read: DistributionRead,
): Promise<Map<Token, number>> {
  // Temperature 1 and no top-p keep the biased logits' ratios as they are; temperature 0 is greedy and returns all.
  const options =
    read === 'all'
      ? { temperature: 0 }
      : { temperature: 1, topK: read.only.size, topP: 1, seed: 0, tokenBias: read.bias };
  const generator = sequence.evaluateWithMetadata(pending, { probabilities: true }, options);
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
