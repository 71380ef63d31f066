// What an evaluation measures: sentiment (with its generate-and-parse baseline) or any other classify task, by name.

import { SENTIMENT_DEFINITION, type ClassifyTaskDefinition, type TaskCatalog } from '../engine/index.js';
import type { ClassifierAnswer, EvalEngine, Locale, SentimentMethod } from './classifier.js';
import { EvalTaskError, UnsupportedOptionError } from './errors.js';
import { classifyByGenerating } from './generateBaseline.js';
import { SENTIMENT_VOCABULARY, taskVocabulary, type LabelVocabulary } from './labels.js';

export const SENTIMENT_TASK = 'sentiment';

export interface AnswerOptions {
  method: SentimentMethod;
  locale: Locale;
  signal?: AbortSignal;
}

export interface EvalTarget {
  /** `sentiment`, or the classify task's name. */
  readonly task: string;
  /** How the data file's labels read; its labels are every answer the task may give. */
  readonly vocabulary: LabelVocabulary;
  /** The methods the task can be scored with. */
  readonly methods: readonly SentimentMethod[];
  /** Sentiment only: on a set without neutral gold labels, NEUTRAL answers are also resolved by the scores. */
  readonly neutralOnBinary: boolean;
  /** One text's answer, its label as it is scored. */
  answer(engine: EvalEngine, text: string, options: AnswerOptions): Promise<ClassifierAnswer>;
}

/** What scoring needs of a target: its labels, and whether sentiment's NEUTRAL-on-binary reading applies. */
export type TargetScoring = Pick<EvalTarget, 'vocabulary' | 'neutralOnBinary'>;

export const SENTIMENT_TARGET: EvalTarget = {
  task: SENTIMENT_TASK,
  vocabulary: SENTIMENT_VOCABULARY,
  methods: ['logprob', 'generate'],
  neutralOnBinary: true,
  answer(engine, text, options) {
    if (options.method === 'generate') return classifyByGenerating(engine, text, options);
    return classifyTaskTarget(SENTIMENT_DEFINITION).answer(engine, text, options);
  },
};

/** Any other classify task: its labels' probabilities after its prompt, the way `classify` and `analyze` run it. */
export function classifyTaskTarget(task: ClassifyTaskDefinition): EvalTarget {
  return {
    task: task.name,
    vocabulary: taskVocabulary(task),
    methods: ['logprob'],
    neutralOnBinary: false,
    async answer(engine, text, { locale, signal }) {
      const run = await engine.runTasks(text, [task.name], { locale, kind: 'classify', ...(signal ? { signal } : {}) });
      const result = run.results[0];
      if (result?.kind !== 'classify') throw new Error(`task "${task.name}" returned no classification`);
      const { label, confidence, scores, latencyMs, promptTokens } = result;
      return { label, confidence, scores, latencyMs, promptTokens, parsed: true };
    },
  };
}

/** The target `--task` names in `catalog` (sentiment when unset); only classify tasks have labels to score. */
export function resolveEvalTarget(task: string | undefined, catalog: TaskCatalog): EvalTarget {
  if (task === undefined || task === SENTIMENT_TASK) return SENTIMENT_TARGET;
  const classifiers = catalog.tasks.filter((candidate) => candidate.kind === 'classify').map((candidate) => candidate.name);
  const definition = catalog.tasks.find((candidate) => candidate.name === task);
  if (definition === undefined) {
    throw new EvalTaskError({ message: `there is no task "${task}"; the classify tasks are ${classifiers.join(', ')}` });
  }
  if (definition.kind !== 'classify') {
    throw new EvalTaskError({
      message: `task "${task}" is an ${definition.kind} task; only classify tasks (${classifiers.join(', ')}) have labels to evaluate`,
    });
  }
  return classifyTaskTarget(definition);
}

/** Refuses a method the target cannot be scored with, naming the flag as given (`both` includes generate). */
export function checkMethods(target: EvalTarget, methods: readonly SentimentMethod[], flag: string): void {
  const unsupported = methods.filter((method) => !target.methods.includes(method));
  if (unsupported.length === 0) return;
  throw new UnsupportedOptionError({
    message:
      `--method ${flag} needs the generate-and-parse baseline, which only sentiment has; task "${target.task}" is ` +
      `scored from its labels' probabilities (--method ${target.methods.join(' or ')})`,
  });
}
