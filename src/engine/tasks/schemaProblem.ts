// What makes an extraction's schema impossible to satisfy, found at load: such a task could only ever fail its calls.
import { fieldName } from './checkTasksFileShape.js';
import type { ExtractSchema } from './definitions.js';

/**
 * The first part of `schema` no answer can satisfy, or a duplicate the grammar builder cannot take, as
 * `field: message`. Recursive, so it runs only on a schema whose depth the file's size checks have bounded.
 */
export function schemaProblem(schema: ExtractSchema, field = 'schema'): string | undefined {
  if ('enum' in schema) {
    const seen = new Set<string>();
    for (const value of schema.enum) {
      const key = JSON.stringify(value);
      if (seen.has(key)) return `${field}.enum: ${key.slice(0, 60)} is listed twice`;
      seen.add(key);
    }
    return undefined;
  }
  switch (schema.type) {
    case 'string':
      return schema.minLength !== undefined && schema.minLength > schema.maxLength
        ? `${field}.minLength: ${schema.minLength} is more than maxLength ${schema.maxLength}, so no string fits`
        : undefined;
    case 'array':
      if (schema.minItems !== undefined && schema.minItems > schema.maxItems) {
        return `${field}.minItems: ${schema.minItems} is more than maxItems ${schema.maxItems}, so no array fits`;
      }
      return schemaProblem(schema.items, `${field}.items`);
    case 'object': {
      const required = new Set<string>();
      for (const name of schema.required ?? []) {
        if (required.has(name)) return `${field}.required: "${name.slice(0, 40)}" is listed twice`;
        if (!Object.hasOwn(schema.properties, name)) {
          return `${field}.required: "${name.slice(0, 40)}" is not one of its properties, so no answer can have it`;
        }
        required.add(name);
      }
      for (const [name, property] of Object.entries(schema.properties)) {
        const problem = schemaProblem(property, `${field}.properties.${fieldName(name)}`);
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
