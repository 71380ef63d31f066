// The size checks a TASKS_FILE passes before it is parsed and validated: every loop here is flat, so no input can
// overflow the stack or make later, recursive steps (validation, grammar building, scoring) run unbounded.
import { TASK_LIMITS } from './taskLimits.js';

const LOCALES = ['en', 'zh'] as const;
const LANGUAGE = { en: 'English', zh: 'Chinese' } as const;

/** How the messages name a task of the raw file: by its name when it has one, else by its position. */
export function rawTaskName(task: unknown, index: number): string {
  const name = isRecord(task) ? task['name'] : undefined;
  return typeof name === 'string' ? `task "${name.slice(0, 40)}"` : `task #${index + 1}`;
}

/** The text nests brackets deeper than the limit (checked on the text: a deep enough nesting crashes the parser). */
export function nestingProblem(text: string): string | undefined {
  let depth = 0;
  let line = 1;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (char === 0x0a) line += 1;
    else if (char === 0x5b || char === 0x7b) {
      depth += 1;
      if (depth > TASK_LIMITS.fileNesting) return `line ${line}: nested more than ${TASK_LIMITS.fileNesting} levels deep`;
    } else if (char === 0x5d || char === 0x7d) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** The first count over its limit in the parsed file — tasks, labels, spellings, schema size — as `task "x": field: …`. */
export function shapeProblem(raw: unknown): string | undefined {
  const tasks = isRecord(raw) ? raw['tasks'] : undefined;
  if (!Array.isArray(tasks)) return undefined;
  if (tasks.length > TASK_LIMITS.tasks) return `tasks: ${tasks.length} tasks, at most ${TASK_LIMITS.tasks}`;
  for (const [index, task] of tasks.entries()) {
    if (!isRecord(task)) continue;
    const problem = labelsProblem(task['labels']) ?? schemaSizeProblem(task['schema']);
    if (problem) return `${rawTaskName(task, index)}: ${problem}`;
  }
  return undefined;
}

function labelsProblem(labels: unknown): string | undefined {
  if (!Array.isArray(labels)) return undefined;
  if (labels.length > TASK_LIMITS.labelsPerTask) return `labels: ${labels.length} labels, at most ${TASK_LIMITS.labelsPerTask}`;
  for (const locale of LOCALES) {
    let total = 0;
    for (const [index, label] of labels.entries()) {
      const spellings = isRecord(label) && isRecord(label['spellings']) ? label['spellings'][locale] : undefined;
      if (!Array.isArray(spellings)) continue;
      if (spellings.length > TASK_LIMITS.spellingsPerLabel) {
        return `labels[${index}].spellings.${locale}: ${spellings.length} spellings, at most ${TASK_LIMITS.spellingsPerLabel}`;
      }
      total += spellings.length;
    }
    if (total > TASK_LIMITS.spellingsPerTask) {
      return `labels: ${total} ${LANGUAGE[locale]} spellings in all, at most ${TASK_LIMITS.spellingsPerTask}`;
    }
  }
  return undefined;
}

/** Walks the schema with a stack of its own, so a deep or wide one is measured, never recursed into. */
function schemaSizeProblem(schema: unknown): string | undefined {
  const pending: { node: unknown; field: string; depth: number }[] = [{ node: schema, field: 'schema', depth: 1 }];
  let nodes = 0;
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { node, field, depth } = next;
    if (!isRecord(node)) continue;
    nodes += 1;
    if (nodes > TASK_LIMITS.schemaNodes) return `schema: more than ${TASK_LIMITS.schemaNodes} nodes (types, items, properties)`;
    if (depth > TASK_LIMITS.schemaDepth) return `${field}: nested more than ${TASK_LIMITS.schemaDepth} levels deep`;
    const values = node['enum'];
    if (Array.isArray(values) && values.length > TASK_LIMITS.enumValues) {
      return `${field}.enum: ${values.length} values, at most ${TASK_LIMITS.enumValues}`;
    }
    const properties = node['properties'];
    if (isRecord(properties)) {
      const names = Object.keys(properties);
      if (names.length > TASK_LIMITS.schemaProperties) {
        return `${field}.properties: ${names.length} properties, at most ${TASK_LIMITS.schemaProperties}`;
      }
      for (const name of names) pending.push({ node: properties[name], field: `${field}.properties.${fieldName(name)}`, depth: depth + 1 });
    }
    pending.push({ node: node['items'], field: `${field}.items`, depth: depth + 1 });
  }
  return undefined;
}

/** A property name as a message shows it: whole when short and plain, quoted and cut otherwise. */
export function fieldName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(name) ? name : JSON.stringify(name.slice(0, 40));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
