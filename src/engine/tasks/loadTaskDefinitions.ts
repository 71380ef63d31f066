// TASKS_FILE: the operator's own tasks (JSON or YAML), validated, merged with the built-ins.
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CodedError } from '../../CodedError.js';
import { BUILTIN_TASKS, DEFAULT_SELECTION, FIXED_TASKS } from './builtinTasks.js';
import { nestingProblem, shapeProblem } from './checkTasksFileShape.js';
import type { ExtractSchema, TaskDefinition, TaskSelection } from './definitions.js';
import { describeIssue } from './describeIssue.js';
import { maxAnswerTokens } from './schemaBound.js';
import { schemaProblem } from './schemaProblem.js';
import { TASK_LIMITS } from './taskLimits.js';

/** The file cannot be read, parsed or accepted; the message names the file, the task and the field. */
export class TaskDefinitionError extends CodedError {
  readonly code = 'BAD_TASKS_FILE';
}

export interface TaskCatalog {
  tasks: readonly TaskDefinition[];
  selection: TaskSelection;
  /** The TASKS_FILE the tasks beyond the built-ins came from, for messages that name it. */
  file?: string;
}

const NAME = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be 1 to 40 lower-case letters, digits or _, starting with a letter');
const TEXT = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(TASK_LIMITS.textChars, `must be at most ${TASK_LIMITS.textChars} characters`);
const localized = <T extends z.ZodType>(value: T) => z.object({ en: value, zh: value }).strict();
const SPELLINGS = z
  .array(z.string().trim().min(1, 'must not be empty').max(40))
  .min(1, 'needs at least one spelling')
  .max(TASK_LIMITS.spellingsPerLabel);

const LABEL = z
  .object({
    name: NAME,
    description: localized(TEXT),
    spellings: localized(SPELLINGS),
    steer: localized(TEXT).optional(),
  })
  .strict();

const SCHEMA: z.ZodType<ExtractSchema> = z.lazy(() =>
  z.union([
    z
      .object({
        type: z.literal('string'),
        maxLength: z.number().int().min(1).max(500),
        minLength: z.number().int().min(0).optional(),
        description: z.string().optional(),
      })
      .strict(),
    z.object({ type: z.enum(['boolean', 'null']), description: z.string().optional() }).strict(),
    z
      .object({
        enum: z.array(z.union([z.string(), z.boolean(), z.null()])).min(1).max(TASK_LIMITS.enumValues),
        description: z.string().optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('array'),
        items: SCHEMA,
        maxItems: z.number().int().min(1).max(50),
        minItems: z.number().int().min(0).optional(),
        description: z.string().optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('object'),
        properties: z.record(z.string(), SCHEMA),
        required: z.array(z.string()).optional(),
        additionalProperties: z.literal(false).optional(),
        description: z.string().optional(),
      })
      .strict(),
  ]),
);

const TASK = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('classify'),
      name: NAME,
      description: TEXT,
      instruction: localized(TEXT),
      labels: z.array(LABEL).min(2, 'needs at least two labels').max(TASK_LIMITS.labelsPerTask),
    })
    .strict(),
  z
    .object({
      kind: z.literal('extract'),
      name: NAME,
      description: TEXT,
      instruction: localized(TEXT),
      schema: SCHEMA,
      maxTokens: z.number().int().min(1).max(TASK_LIMITS.answerTokens).optional(),
    })
    .strict(),
]);

const FILE = z
  .object({
    tasks: z.array(TASK).default([]),
    analyze: z.array(NAME).min(1).optional(),
  })
  .strict();

/** The built-in tasks, with `file` (a TASKS_FILE path) adding tasks or replacing the replaceable built-ins. */
export function loadTaskDefinitions(file?: string): TaskCatalog {
  if (file === undefined) return { tasks: BUILTIN_TASKS, selection: DEFAULT_SELECTION };
  const raw = readTasksFile(file);
  // Counted before validating: the validator and everything after it recurse into what they are given.
  const oversized = shapeProblem(raw);
  if (oversized) throw new TaskDefinitionError({ message: `${file}: ${oversized}` });
  const parsed = FILE.safeParse(raw);
  if (!parsed.success) throw new TaskDefinitionError({ message: `${file}: ${describeIssue(parsed.error.issues[0]!, raw)}` });
  const own = parsed.data.tasks as TaskDefinition[];
  const problem = checkTasks(own);
  if (problem) throw new TaskDefinitionError({ message: `${file}: ${problem}` });
  const tasks = [...BUILTIN_TASKS.filter((task) => !own.some((mine) => mine.name === task.name)), ...own];
  const analyze = parsed.data.analyze ?? DEFAULT_SELECTION.analyze;
  const unknown = analyze.filter((name) => !tasks.some((task) => task.name === name));
  if (unknown.length > 0) {
    throw new TaskDefinitionError({
      message: `${file}: analyze: no task named ${unknown.map((name) => `"${name}"`).join(', ')}`,
    });
  }
  return { tasks, selection: { analyze }, file };
}

function readTasksFile(file: string): unknown {
  let text: string;
  try {
    const stats = statSync(file);
    if (!stats.isFile()) throw new TaskDefinitionError({ message: `${file}: is not a regular file` });
    if (stats.size > TASK_LIMITS.fileBytes) {
      throw new TaskDefinitionError({ message: `${file}: is ${stats.size} bytes, at most ${TASK_LIMITS.fileBytes}` });
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof TaskDefinitionError) throw error;
    throw new TaskDefinitionError({
      message: `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      cause: error,
    });
  }
  const nesting = nestingProblem(text);
  if (nesting) throw new TaskDefinitionError({ message: `${file}: ${nesting}` });
  try {
    // JSON is YAML too, so one parser reads both.
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new TaskDefinitionError({
      message: `${file}: is not valid JSON or YAML (${(error as Error).message.split('\n')[0]})`,
      cause: error,
    });
  }
}

/** What the schema cannot say: names unique, built-ins kept, labels and spellings unambiguous, answers possible and bounded. */
function checkTasks(tasks: readonly TaskDefinition[]): string | undefined {
  const names = new Set<string>();
  for (const task of tasks) {
    const where = `task "${task.name}"`;
    if (names.has(task.name)) return `${where}: name is used twice`;
    names.add(task.name);
    if (FIXED_TASKS.includes(task.name))
      return `${where}: name is built in and cannot be redefined (only intent and keywords can)`;
    if (task.kind === 'classify') {
      const labels = new Set<string>();
      for (const [index, label] of task.labels.entries()) {
        if (labels.has(label.name)) return `${where}: labels[${index}].name: "${label.name}" is used twice`;
        labels.add(label.name);
      }
      for (const locale of ['en', 'zh'] as const) {
        const owner = new Map<string, string>();
        for (const [index, label] of task.labels.entries()) {
          const own = new Set<string>();
          for (const spelling of label.spellings[locale]) {
            // Whole-label scoring sums a label's spellings, so a repeated one would count twice.
            if (own.has(spelling)) return `${where}: labels[${index}].spellings.${locale}: "${spelling}" is listed twice`;
            own.add(spelling);
            const other = owner.get(spelling);
            if (other !== undefined && other !== label.name) {
              return `${where}: labels[${index}].spellings.${locale}: "${spelling}" also spells "${other}"`;
            }
            owner.set(spelling, label.name);
          }
        }
      }
    } else {
      const impossible = schemaProblem(task.schema);
      if (impossible) return `${where}: ${impossible}`;
      const needed = maxAnswerTokens(task.schema);
      if (task.maxTokens === undefined && needed > TASK_LIMITS.answerTokens) {
        return `${where}: schema: its longest answer takes ${needed} tokens, more than ${TASK_LIMITS.answerTokens}; lower maxItems/maxLength`;
      }
      if (task.maxTokens !== undefined && task.maxTokens < needed) {
        return `${where}: maxTokens: ${task.maxTokens} cannot hold the longest answer the schema allows (${needed} tokens); raise it or lower maxItems/maxLength`;
      }
    }
  }
  return undefined;
}
