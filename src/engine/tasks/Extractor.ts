// Extraction by prompt: generation constrained by a grammar built from the task's JSON Schema, so the answer always parses.
import {
  LlamaGrammarEvaluationState,
  type Llama,
  type LlamaContextSequence,
  type LlamaJsonSchemaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { generateTokens } from '../generateTokens.js';
import type { PrefixRestore, PrefixStates } from '../PrefixStates.js';
import type { Locale } from '../prompts.js';
import type { JobContext } from '../Scheduler.js';
import { tokenizeParts } from '../tokenizeParts.js';
import { answerSchemaOf, type AnswerSchema } from './answerSchema.js';
import type { ExtractTaskDefinition } from './definitions.js';
import { ANSWER_END, maxAnswerTokens } from './schemaBound.js';
import { extractPrompt } from './taskPrompts.js';

export interface Extraction {
  /** The answer, parsed: it matches the task's schema. */
  value: unknown;
  /** The answer as the model wrote it. */
  json: string;
  /** Tokens generated for the answer. */
  tokens: number;
  /** Prompt tokens this call evaluated (a warm prefix is not counted). */
  promptTokens: number;
  prefix: PrefixRestore;
  latencyMs: number;
}

interface Plan {
  grammar: LlamaJsonSchemaGrammar<any>;
  answer: AnswerSchema;
  maxTokens: number;
  prefixTokens: Record<Locale, Token[]>;
  suffixTokens: Record<Locale, Token[]>;
}

export class Extractor {
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #states: PrefixStates;
  readonly #plans = new Map<string, Plan>();

  constructor(llama: Llama, model: LlamaModel, states: PrefixStates) {
    this.#llama = llama;
    this.#model = model;
    this.#states = states;
  }

  /** Builds the task's grammar; call once per task at load. */
  async add(task: ExtractTaskDefinition): Promise<void> {
    const grammar = await this.#llama.createGrammarForJsonSchema(task.schema as never);
    const tokensOf = (part: 'prefix' | 'suffix') => ({
      zh: tokenizeParts(this.#model, extractPrompt(task, 'zh')[part]),
      en: tokenizeParts(this.#model, extractPrompt(task, 'en')[part]),
    });
    this.#plans.set(task.name, {
      grammar,
      answer: answerSchemaOf(task.name, task.schema),
      maxTokens: task.maxTokens ?? maxAnswerTokens(task.schema),
      prefixTokens: tokensOf('prefix'),
      suffixTokens: tokensOf('suffix'),
    });
  }

  /** Tokens a call on a text of `textTokens` tokens needs in its sequence: the prompt and the longest answer. */
  tokensNeeded(task: string, locale: Locale, textTokens: number): number {
    const plan = this.#planFor(task);
    return plan.prefixTokens[locale].length + textTokens + plan.suffixTokens[locale].length + plan.maxTokens;
  }

  /** Evaluates the task's instructions (or loads their saved state) so that the first call evaluates only its text. */
  async warmUp(job: JobContext, sequence: LlamaContextSequence, task: string, locale: Locale): Promise<PrefixRestore> {
    return this.#states.restore(job, sequence, prefixKey(task, locale), this.#planFor(task).prefixTokens[locale]);
  }

  async extract(
    job: JobContext,
    sequence: LlamaContextSequence,
    task: string,
    locale: Locale,
    textTokens: readonly Token[],
  ): Promise<Extraction> {
    const startedAt = performance.now();
    const plan = this.#planFor(task);
    const prefix = await this.#states.restore(job, sequence, prefixKey(task, locale), plan.prefixTokens[locale]);
    const promptTokens = [...plan.prefixTokens[locale], ...textTokens, ...plan.suffixTokens[locale]];
    const grammarEvaluationState = new LlamaGrammarEvaluationState({ model: this.#model, grammar: plan.grammar });
    const generated: Token[] = [];
    let evaluated = 0;
    // Greedy under the grammar: an extraction is an answer, not a creative text.
    const tokens = generateTokens(job, sequence, promptTokens, { temperature: 0, grammarEvaluationState }, (count) => {
      evaluated = count;
    });
    for await (const token of tokens) {
      generated.push(token);
      if (generated.length >= plan.maxTokens || this.#answerEnded(generated, plan.answer)) break;
    }
    const json = this.#model.detokenize(generated).trimEnd();
    return {
      value: plan.answer.parse(json),
      json,
      tokens: generated.length,
      promptTokens: evaluated,
      prefix,
      latencyMs: performance.now() - startedAt,
    };
  }

  /**
   * node-llama-cpp's JSON grammar ends the answer with ANSWER_END and then allows newlines without end (its own
   * generate functions stop at that trigger); without this check an extraction wrote newlines up to its bound.
   * ANSWER_END spans at most its length in tokens, and the value cannot contain it, but the parse confirms the end.
   */
  #answerEnded(generated: readonly Token[], answer: AnswerSchema): boolean {
    if (!this.#model.detokenize(generated.slice(-ANSWER_END.length)).endsWith(ANSWER_END)) return false;
    try {
      answer.parse(this.#model.detokenize(generated));
      return true;
    } catch {
      return false;
    }
  }

  #planFor(task: string): Plan {
    const plan = this.#plans.get(task);
    if (!plan) throw new Error(`Extract task "${task}" was never added.`);
    return plan;
  }
}

function prefixKey(task: string, locale: Locale): string {
  return `${task}:${locale}`;
}
