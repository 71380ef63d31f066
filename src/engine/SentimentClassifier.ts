// Sentiment, the built-in task: label probabilities through the classifier, or the original product's generate-and-parse.
import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import {
  baselineSentimentPrompt,
  parseBaselineAnswer,
  SENTIMENT_LABELS,
  sentimentDisplay,
  sentimentEmoji,
  type Locale,
  type SentimentLabel,
} from './prompts.js';
import type { PrefixRestore } from './PrefixStates.js';
import type { JobContext } from './Scheduler.js';
import { syncSequence } from './syncSequence.js';
import type { Classifier } from './tasks/Classifier.js';
import { SENTIMENT_TASK } from './tasks/sentimentTask.js';
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
  /** `logprob` only: how the instructions came to be in the sequence (resident, loaded from their saved state, evaluated). */
  prefix?: PrefixRestore;
  /** `generate` only: false when the answer named no label (then the scores are uniform). */
  parsed: boolean;
  /** `generate` only: what the model wrote. */
  rawAnswer?: string;
}

const BASELINE_MAX_TOKENS = 20;

export class SentimentClassifier {
  readonly #model: LlamaModel;
  readonly #classifier: Classifier;

  constructor(model: LlamaModel, classifier: Classifier) {
    this.#model = model;
    this.#classifier = classifier;
  }

  /** Whether one forward pass suffices for this locale with the loaded tokenizer (checked once at load). */
  usesSinglePass(locale: Locale): boolean {
    return this.#classifier.scoringMethod(SENTIMENT_TASK.name, locale) === 'first-token';
  }

  /** Tokens a classification of `text` needs in its sequence. */
  tokensNeeded(text: string, locale: Locale, method: SentimentMethod): number {
    if (method === 'logprob') return this.#classifier.tokensNeeded(SENTIMENT_TASK, locale, text);
    return tokenizeParts(this.#model, baselineSentimentPrompt(locale, text)).length + BASELINE_MAX_TOKENS;
  }

  async classify(
    job: JobContext,
    sequence: LlamaContextSequence,
    text: string,
    locale: Locale,
    method: SentimentMethod,
  ): Promise<SentimentResult> {
    const startedAt = performance.now();
    const outcome =
      method === 'logprob'
        ? await this.#scoreLabels(job, sequence, text, locale)
        : await this.#generateAndParse(job, sequence, text, locale);
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
      ...(outcome.prefix === undefined ? {} : { prefix: outcome.prefix }),
    };
  }

  async #scoreLabels(job: JobContext, sequence: LlamaContextSequence, text: string, locale: Locale) {
    const result = await this.#classifier.classify(job, sequence, SENTIMENT_TASK, locale, text);
    const scores = result.scores as SentimentScores;
    return { scores, promptTokens: result.promptTokens, parsed: true, rawAnswer: undefined, prefix: result.prefix };
  }

  async #generateAndParse(job: JobContext, sequence: LlamaContextSequence, text: string, locale: Locale) {
    const promptTokens = tokenizeParts(this.#model, baselineSentimentPrompt(locale, text));
    // The original method evaluates its whole prompt every time: no prefix reuse.
    await job.step(() => sequence.clearHistory(), { tokens: 0, generating: false });
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
        next = await job.step(() => generator!.next(), { tokens: 1, generating: true });
      }
    } finally {
      await generator?.return();
    }
    const rawAnswer = this.#model.detokenize(answerTokens);
    const parsedLabel = parseBaselineAnswer(rawAnswer);
    const scores: SentimentScores = parsedLabel
      ? { positive: 0, negative: 0, neutral: 0, [parsedLabel]: 1 }
      : { positive: 1 / 3, negative: 1 / 3, neutral: 1 / 3 };
    return { scores, promptTokens: evaluated, parsed: parsedLabel !== undefined, rawAnswer, prefix: undefined };
  }
}
