// Checks an extraction's answer against its task's JSON Schema, as the JSON Schema specification counts: a string's
// length in Unicode code points. (node-llama-cpp's own `parse` counts UTF-16 units, so an answer its grammar allowed,
// with a character outside the Basic Multilingual Plane, would be refused; ajv counts as the grammar does.)
import { Ajv, type ValidateFunction } from 'ajv';
import type { ExtractSchema } from './definitions.js';

const ajv = new Ajv({ allErrors: false, strict: false });

export interface AnswerSchema {
  /** The parsed answer; throws when it is not JSON or does not match the schema. */
  parse(json: string): unknown;
}

export function answerSchemaOf(task: string, schema: ExtractSchema): AnswerSchema {
  const validate: ValidateFunction = ajv.compile(schema);
  return {
    parse(json) {
      const value: unknown = JSON.parse(json);
      if (!validate(value)) {
        throw new Error(`The answer of task "${task}" does not match its schema: ${ajv.errorsText(validate.errors)}`);
      }
      return value;
    },
  };
}
