// Single-label classification by prompt: the labels' probabilities read after a warm prefix, never parsed from text.
import { TokenBias, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import type { PrefixRestore, PrefixStates } from '../PrefixStates.js';
import type { Locale, PromptPart } from '../prompts.js';
import type { JobContext } from '../Scheduler.js';
import { sequenceIdOf } from '../sequenceIds.js';
import { syncSequence } from '../syncSequence.js';
import { tokenizeParts } from '../tokenizeParts.js';

/** What the classifier needs of a task in one language. */
export interface ClassifierPrompt {
  /** Constant part (instructions, the opening of the user turn): evaluated once, then restored. */
  prefix: PromptPart[];
  /** What follows the text: the pre-filled start of the answer, so the very next token is the verdict. */
  suffix: PromptPart[];
  /** Every way the model may write each label right after the answer lead; a label's score sums its spellings. */
  spellings: Readonly<Record<string, readonly string[]>>;
}

export interface ClassifierTask {
  name: string;
  labels: readonly string[];
  prompts: Readonly<Record<Locale, ClassifierPrompt>>;
}

/** How a task is scored for the loaded tokenizer, decided once at load. */
export type ScoringMethod = 'first-token' | 'whole-label';

export interface Classification {
  label: string;
  /** Probability of the chosen label. */
  confidence: number;
  /** A probability per label, summing to 1. */
  scores: Record<string, number>;
  /** Tokens this call evaluated (a warm prefix is not counted). */
  promptTokens: number;
  /** How the task's instructions came to be in the sequence. */
  prefix: PrefixRestore;
  latencyMs: number;
}

/**
 * Added to the logits of the labels' first tokens before the top-k cut, so exactly those tokens survive it. The same
 * offset on every candidate leaves their ratios, and so the normalized scores, unchanged; reading only these few
 * candidates avoids copying and sorting the whole ~150k-entry vocabulary on every call.
 */
const LABEL_LOGIT_BIAS = 1000;

interface Plan {
  prefixKey: string;
  prefixTokens: Token[];
  suffixTokens: Token[];
  spellings: { label: string; tokens: Token[] }[];
  method: ScoringMethod;
  firstTokens: Set<Token>;
  firstTokenBias: TokenBias;
  /** The longest spelling, which must fit after the prompt. */
  longestSpelling: number;
}

export class Classifier {
  readonly #model: LlamaModel;
  readonly #states: PrefixStates;
  readonly #plans = new Map<string, Plan>();

  constructor(model: LlamaModel, states: PrefixStates) {
    this.#model = model;
    this.#states = states;
  }

  /** Plans a task for both languages; call once per task at load. */
  add(task: ClassifierTask): void {
    for (const locale of Object.keys(task.prompts) as Locale[])
      this.#plans.set(planKey(task.name, locale), this.#plan(task, locale));
  }

  scoringMethod(task: string, locale: Locale): ScoringMethod {
    return this.#planFor(task, locale).method;
  }

  /** Tokens a call on a text of `textTokens` tokens needs in its sequence: the prompt, plus room for the longest label. */
  tokensNeeded(task: string, locale: Locale, textTokens: number): number {
    const plan = this.#planFor(task, locale);
    return plan.prefixTokens.length + textTokens + plan.suffixTokens.length + plan.longestSpelling;
  }

  /** Evaluates the task's instructions (or loads their saved state) so that the first call evaluates only its text. */
  async warmUp(job: JobContext, sequence: LlamaContextSequence, task: string, locale: Locale): Promise<PrefixRestore> {
    const plan = this.#planFor(task, locale);
    return this.#states.restore(job, sequence, plan.prefixKey, plan.prefixTokens);
  }

  async classify(
    job: JobContext,
    sequence: LlamaContextSequence,
    task: ClassifierTask,
    locale: Locale,
    textTokens: readonly Token[],
  ): Promise<Classification> {
    const startedAt = performance.now();
    const plan = this.#planFor(task.name, locale);
    const prefix = await this.#states.restore(job, sequence, plan.prefixKey, plan.prefixTokens);
    const promptTokens = [...plan.prefixTokens, ...textTokens, ...plan.suffixTokens];
    const { mass, evaluated } =
      plan.method === 'first-token'
        ? await this.#firstTokenMass(job, sequence, plan, promptTokens)
        : await this.#wholeLabelMass(job, sequence, plan, promptTokens);
    const scores = normalize(task.labels, mass);
    const label = task.labels.reduce((best, candidate) => (scores[candidate]! > scores[best]! ? candidate : best));
    return {
      label,
      confidence: scores[label]!,
      scores,
      promptTokens: evaluated,
      prefix,
      latencyMs: performance.now() - startedAt,
    };
  }

  #planFor(task: string, locale: Locale): Plan {
    const plan = this.#plans.get(planKey(task, locale));
    if (!plan) throw new Error(`Task "${task}" has no ${locale} prompt.`);
    return plan;
  }

  #plan(task: ClassifierTask, locale: Locale): Plan {
    const prompt = task.prompts[locale];
    const spellings = task.labels.flatMap((label) =>
      (prompt.spellings[label] ?? []).map((spelling) => ({
        label,
        tokens: tokenizeParts(this.#model, [{ text: spelling, trusted: false }]),
      })),
    );
    const firstTokenOwner = new Map<Token, string>();
    let distinct = true;
    for (const { label, tokens } of spellings) {
      const owner = firstTokenOwner.get(tokens[0]!);
      if (owner !== undefined && owner !== label) distinct = false;
      firstTokenOwner.set(tokens[0]!, label);
    }
    const firstTokens = new Set(spellings.map(({ tokens }) => tokens[0]!));
    const firstTokenBias = new TokenBias(this.#model.tokenizer);
    for (const token of firstTokens) firstTokenBias.set(token, { logit: LABEL_LOGIT_BIAS });
    return {
      prefixKey: planKey(task.name, locale),
      prefixTokens: tokenizeParts(this.#model, prompt.prefix),
      suffixTokens: tokenizeParts(this.#model, prompt.suffix),
      spellings,
      method: distinct ? 'first-token' : 'whole-label',
      firstTokens,
      firstTokenBias,
      longestSpelling: spellings.reduce((longest, { tokens }) => Math.max(longest, tokens.length), 0),
    };
  }

  /** One forward pass: every label's first tokens differ, so their probabilities decide. */
  async #firstTokenMass(job: JobContext, sequence: LlamaContextSequence, plan: Plan, promptTokens: Token[]) {
    const read = async (how: DistributionRead) => {
      const synced = await syncSequence(job, sequence, promptTokens, (pending) =>
        readNextTokenDistribution(sequence, pending, how),
      );
      return synced;
    };
    let synced = await read({ only: plan.firstTokens, bias: plan.firstTokenBias });
    let evaluated = synced.evaluated;
    if (![...plan.firstTokens].every((token) => synced.value.has(token))) {
      // Only if some logit beat a label's by more than the bias: read the whole vocabulary.
      synced = await read('all');
      evaluated += synced.evaluated;
    }
    const mass = new Map<string, number>();
    const counted = new Set<Token>();
    for (const { label, tokens } of plan.spellings) {
      if (counted.has(tokens[0]!)) continue;
      counted.add(tokens[0]!);
      mass.set(label, (mass.get(label) ?? 0) + (synced.value.get(tokens[0]!) ?? 0));
    }
    return { mass, evaluated };
  }

  /**
   * Labels share a first token: each spelling's whole continuation is scored by the geometric mean of its tokens'
   * probabilities (so a label of four tokens is not penalised against one of one). The distribution after the prompt
   * is read once; each spelling then costs one decode of its own tokens with every position's distribution read.
   */
  async #wholeLabelMass(job: JobContext, sequence: LlamaContextSequence, plan: Plan, promptTokens: Token[]) {
    const afterPrompt = await syncSequence(job, sequence, promptTokens, (pending) =>
      readNextTokenDistribution(sequence, pending, 'all'),
    );
    let evaluated = afterPrompt.evaluated;
    const mass = new Map<string, number>();
    for (const { label, tokens } of plan.spellings) {
      let logProbability = Math.log(afterPrompt.value.get(tokens[0]!) ?? 0);
      if (tokens.length > 1 && Number.isFinite(logProbability)) {
        const inner = tokens.slice(0, -1);
        const outputs = await job.step(
          async () => {
            // Back to the prompt, then the spelling's tokens, each one reading the distribution of the next.
            await sequence.eraseContextTokenRanges([{ start: promptTokens.length, end: sequence.nextTokenIndex }]);
            return sequence.controlledEvaluate(inner.map((token) => [token, ALL_PROBABILITIES]));
          },
          { tokens: inner.length, generating: false, sequence: sequenceIdOf(sequence) },
        );
        evaluated += inner.length;
        outputs.forEach(
          (output, index) => (logProbability += Math.log(output?.next.probabilities?.get(tokens[index + 1]!) ?? 0)),
        );
      }
      const perToken = Number.isFinite(logProbability) ? Math.exp(logProbability / tokens.length) : 0;
      mass.set(label, (mass.get(label) ?? 0) + perToken);
    }
    return { mass, evaluated };
  }
}

const ALL_PROBABILITIES = { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1 } } } as const;

function planKey(task: string, locale: Locale): string {
  return `${task}:${locale}`;
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
    read === 'all' ? { temperature: 0 } : { temperature: 1, topK: read.only.size, topP: 1, seed: 0, tokenBias: read.bias };
  const generator = sequence.evaluateWithMetadata(pending, { probabilities: true }, options);
  try {
    const first = await generator.next();
    return first.done ? new Map() : first.value.probabilities;
  } finally {
    await generator.return();
  }
}

function normalize(labels: readonly string[], mass: ReadonlyMap<string, number>): Record<string, number> {
  const total = labels.reduce((sum, label) => sum + (mass.get(label) ?? 0), 0);
  return Object.fromEntries(labels.map((label) => [label, total > 0 ? (mass.get(label) ?? 0) / total : 1 / labels.length]));
}
