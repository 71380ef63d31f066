// The SDL as committed in schema.graphql: sorted, so that only real API changes show in a diff.
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.js';

export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
