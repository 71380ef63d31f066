// Every task the engine knows, compiled once at load (classifiers planned for the tokenizer, extractors' grammars
// built), and run whatever its kind: the one place that tells a classify task from an extract task.
import type { Llama, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { BadInputError } from '../errors.js';
import type { PrefixRestore, PrefixStates } from '../PrefixStates.js';
import type { Locale } from '../prompts.js';
import type { JobContext } from '../Scheduler.js';
import type { TaskResult } from '../types.js';
import { Classifier, type ClassifierTask, type ScoringMethod } from './Classifier.js';
import type { ClassifyTaskDefinition, ExtractTaskDefinition, LabelDefinition, TaskDefinition, TaskSelection } from './definitions.js';
import { BUILTIN_TASKS } from './builtinTasks.js';
import { Extractor } from './Extractor.js';
import { TaskDefinitionError, type TaskCatalog } from './loadTaskDefinitions.js';
import { maxAnswerTokens } from './schemaBound.js';
import { MIN_TEXT_TOKENS } from './taskLimits.js';
import { classifierTaskOf } from './taskPrompts.js';

export interface TaskRegistryOptions {
  /** Tokens a task sequence holds: every task's instructions and longest answer must fit, with room for a text. */
  contextSize: number;
  /** Told when a built-in task cannot fit the context (a task of the file is refused instead). */
  onWarning?: (message: string) => void;
}

/** What `tasks` shows of a task. */
export type TaskInfo =
  | (ClassifyTaskDefinition & { scoring: Readonly<Record<Locale, ScoringMethod>> })
  | (ExtractTaskDefinition & { scoring: 'grammar'; maxTokens: number });

export class TaskRegistry {
  readonly classifier: Classifier;
  readonly extractor: Extractor;
  readonly selection: TaskSelection;
  readonly #definitions: Map<string, TaskDefinition>;
  readonly #classifierTasks = new Map<string, ClassifierTask>();

  private constructor(model: LlamaModel, llama: Llama, states: PrefixStates, catalog: TaskCatalog) {
    this.classifier = new Classifier(model, states);
    this.extractor = new Extractor(llama, model, states);
    this.selection = catalog.selection;
    this.#definitions = new Map(catalog.tasks.map((task) => [task.name, task]));
  }

  /** Compiles every task; throws `TaskDefinitionError` naming the file, task and field when a file's task cannot fit. */
  static async create(
    model: LlamaModel,
    llama: Llama,
    states: PrefixStates,
    catalog: TaskCatalog,
    options: TaskRegistryOptions,
  ): Promise<TaskRegistry> {
    const registry = new TaskRegistry(model, llama, states, catalog);
    for (const task of catalog.tasks) {
      if (task.kind === 'extract') {
        await registry.extractor.add(task);
      } else {
        const compiled = classifierTaskOf(task);
        registry.classifier.add(compiled);
        registry.#classifierTasks.set(task.name, compiled);
      }
      registry.#checkFits(task, catalog, options);
    }
    return registry;
  }

  /**
   * The task's instructions, the prompt's suffix and its longest answer must leave `MIN_TEXT_TOKENS` of the context
   * for a text in both languages; otherwise every call would be refused, so a task file's task is refused at load.
   */
  #checkFits(task: TaskDefinition, catalog: TaskCatalog, { contextSize, onWarning }: TaskRegistryOptions): void {
    for (const locale of ['en', 'zh'] as const) {
      const needed = this.tokensNeeded(task.name, locale, 0);
      if (needed + MIN_TEXT_TOKENS <= contextSize) continue;
      const what =
        `the instructions (${locale}) and the longest answer take ${needed} tokens, ` +
        `leaving less than ${MIN_TEXT_TOKENS} for a text in the ${contextSize}-token context`;
      if ((BUILTIN_TASKS as readonly TaskDefinition[]).includes(task) || catalog.file === undefined) {
        onWarning?.(
          `task "${task.name}" (built in): ${what}; every call of it will be refused ` +
            '(raise CONTEXT_SIZE, or redefine it in TASKS_FILE)',
        );
        return;
      }
      const shorten =
        task.kind === 'classify'
          ? 'the instruction or the label descriptions'
          : "the instruction, or lower maxTokens or the schema's maxItems/maxLength";
      throw new TaskDefinitionError({
        message: `${catalog.file}: task "${task.name}": instruction.${locale}: ${what}; shorten ${shorten}, or raise CONTEXT_SIZE`,
      });
    }
  }

  get names(): string[] {
    return [...this.#definitions.keys()];
  }

  /** The task called `name`, of `kind` when given; a clear BAD_USER_INPUT otherwise. */
  get(name: string, kind?: TaskDefinition['kind']): TaskDefinition {
    const task = this.#definitions.get(name);
    if (!task) throw new BadInputError({ message: `There is no task "${name.slice(0, 40)}"; the tasks are ${this.names.join(', ')}.` });
    if (kind && task.kind !== kind) {
      const article = task.kind === 'extract' ? 'an' : 'a';
      throw new BadInputError({ message: `Task "${name}" is ${article} ${task.kind} task; use ${task.kind} (or analyze), not ${kind}.` });
    }
    return task;
  }

  /** Tokens task `name` needs in its sequence for a text of `textTokens` tokens: its prompt and longest answer. */
  tokensNeeded(name: string, locale: Locale, textTokens: number): number {
    return this.get(name).kind === 'classify'
      ? this.classifier.tokensNeeded(name, locale, textTokens)
      : this.extractor.tokensNeeded(name, locale, textTokens);
  }

  /** Runs task `name` on a text (its tokens) in `sequence`, whatever the task's kind. */
  async run(job: JobContext, sequence: LlamaContextSequence, name: string, locale: Locale, text: readonly Token[]): Promise<TaskResult> {
    const classifierTask = this.#classifierTasks.get(name);
    if (classifierTask) {
      return { task: name, kind: 'classify', ...(await this.classifier.classify(job, sequence, classifierTask, locale, text)) };
    }
    return { task: name, kind: 'extract', ...(await this.extractor.extract(job, sequence, name, locale, text)) };
  }

  /** Evaluates task `name`'s instructions into `sequence` (or loads their saved state), whatever the task's kind. */
  warmUp(job: JobContext, sequence: LlamaContextSequence, name: string, locale: Locale): Promise<PrefixRestore> {
    return this.#classifierTasks.has(name)
      ? this.classifier.warmUp(job, sequence, name, locale)
      : this.extractor.warmUp(job, sequence, name, locale);
  }

  /** The chat system prompt line that `label` of classify task `task` asks for, if it asks for one. */
  steerLine(task: string, label: string, locale: Locale): string | undefined {
    const definition = this.#definitions.get(task);
    if (definition?.kind !== 'classify') return undefined;
    return definition.labels.find((candidate: LabelDefinition) => candidate.name === label)?.steer?.[locale];
  }

  /** What `tasks` shows: each definition as a task file would write it (sentiment's own prompt wording is not shown). */
  describe(): TaskInfo[] {
    return [...this.#definitions.values()].map((task) =>
      task.kind === 'classify'
        ? { ...catalogued(task), scoring: { zh: this.classifier.scoringMethod(task.name, 'zh'), en: this.classifier.scoringMethod(task.name, 'en') } }
        : { ...task, scoring: 'grammar' as const, maxTokens: task.maxTokens ?? maxAnswerTokens(task.schema) },
    );
  }
}

/** A classify definition without `prompt`, which only the built-in sentiment has and a task file cannot write. */
function catalogued({ prompt, ...task }: ClassifyTaskDefinition): ClassifyTaskDefinition {
  return task;
}
