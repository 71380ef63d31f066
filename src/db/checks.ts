// CHECK constraint expressions both dialects' table definitions share.
import { sql, type Column, type SQL } from 'drizzle-orm';

/** Drizzle's `enum` option only narrows the TypeScript type; the CHECK keeps other writers honest too. */
export function oneOf(column: Column, values: readonly string[]): SQL {
  return sql`${column} in (${sql.raw(values.map((value) => `'${value}'`).join(', '))})`;
}

/** The roll-ups store "no owner" as '' (NULLs never conflict in a unique key), so '' must never be a real owner. */
export function ownerIsNullOrNonEmpty(column: Column): SQL {
  return sql`${column} is null or ${column} <> ''`;
}

/** A classify result has a label and a confidence; an extract result has neither. */
export function classifyHasLabel(kind: Column, label: Column, confidence: Column): SQL {
  return sql`(${kind} = 'classify') = (${label} is not null and ${confidence} is not null)`;
}
