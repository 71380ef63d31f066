// Every task the engine knows, compiled once at load: classifiers planned for the tokenizer, extractors' grammars built.
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { BadInputError } from '../errors.js';
import type { PrefixStates } from '../PrefixStates.js';
import type { Locale } from '../prompts.js';
import { Classifier, type ClassifierTask, type ScoringMethod } from './Classifier.js';
import type { ClassifyTaskDefinition, ExtractTaskDefinition, LabelDefinition, TaskDefinition, TaskSelection } from './definitions.js';
import { Extractor } from './Extractor.js';
import type { TaskCatalog } from './loadTaskDefinitions.js';
import { maxAnswerTokens } from './schemaBound.js';
import { SENTIMENT_TASK, SENTIMENT_TASK_NAME } from './sentimentTask.js';
import { classifierTaskOf } from './taskPrompts.js';

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

  static async create(model: LlamaModel, llama: Llama, states: PrefixStates, catalog: TaskCatalog): Promise<TaskRegistry> {
    const registry = new TaskRegistry(model, llama, states, catalog);
    for (const task of catalog.tasks) {
      if (task.kind === 'extract') {
        await registry.extractor.add(task);
        continue;
      }
      // Sentiment keeps the original product's prompt; every other classify task is built from its definition.
      const compiled = task.name === SENTIMENT_TASK_NAME ? SENTIMENT_TASK : classifierTaskOf(task);
      registry.classifier.add(compiled);
      registry.#classifierTasks.set(task.name, compiled);
    }
    return registry;
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

  classifierTask(name: string): ClassifierTask {
    const task = this.#classifierTasks.get(name);
    if (!task) throw new Error(`"${name}" is not a classify task.`);
    return task;
  }

  /** The chat system prompt line that `label` of classify task `task` asks for, if it asks for one. */
  steerLine(task: string, label: string, locale: Locale): string | undefined {
    const definition = this.#definitions.get(task);
    if (definition?.kind !== 'classify') return undefined;
    return definition.labels.find((candidate: LabelDefinition) => candidate.name === label)?.steer?.[locale];
  }

  describe(): TaskInfo[] {
    return [...this.#definitions.values()].map((task) =>
      task.kind === 'classify'
        ? { ...task, scoring: { zh: this.classifier.scoringMethod(task.name, 'zh'), en: this.classifier.scoringMethod(task.name, 'en') } }
        : { ...task, scoring: 'grammar' as const, maxTokens: task.maxTokens ?? maxAnswerTokens(task.schema) },
    );
  }
}
