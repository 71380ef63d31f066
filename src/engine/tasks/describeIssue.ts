// A validation issue of a TASKS_FILE as one line: the task, the field path, and what is wrong with it.
import type { z } from 'zod';
import { rawTaskName } from './checkTasksFileShape.js';

/** `task "name": field.path: message`, so the operator goes straight to the line. */
export function describeIssue(reported: z.core.$ZodIssue, raw: unknown): string {
  const issue = innermost(reported, []);
  const [first, index, ...rest] = issue.path;
  if (first === 'tasks' && typeof index === 'number') {
    const task = rawTaskName((raw as { tasks?: unknown[] }).tasks?.[index], index);
    const field = rest
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
      .replace(/^\./, '');
    return `${task}${field ? `: ${field}` : ''}: ${issue.message}`;
  }
  return `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`;
}

const UNSUPPORTED_SCHEMA =
  'not a supported schema: a string (with maxLength), boolean, null, enum, array (with items and maxItems) or ' +
  'object (with properties); number and integer are not supported';

/**
 * A schema node matching none of the kinds is reported by the validator as "Invalid input" at the top of the schema;
 * this follows the kind whose `type` matched down to the field that is wrong. Bounded by the schema depth limit.
 */
function innermost(issue: z.core.$ZodIssue, above: PropertyKey[]): z.core.$ZodIssue {
  const path = [...above, ...issue.path];
  // A union without per-kind errors is the task's `kind` (a discriminator no kind has): its own message says it.
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { ...issue, path };
  // A kind was meant when its `type` matched (the enum kind, which has none, when the node has no `type` either).
  const typeMatched = issue.errors.filter(
    (option) =>
      !option.some(
        (inner) =>
          (inner.code === 'invalid_value' && inner.path.length === 1 && inner.path[0] === 'type') ||
          (inner.code === 'unrecognized_keys' && inner.path.length === 0 && inner.keys.includes('type')),
      ),
  );
  const closest = typeMatched.sort((a, b) => a.length - b.length)[0]?.[0];
  return closest ? innermost(closest, path) : { ...issue, path, message: UNSUPPORTED_SCHEMA };
}
