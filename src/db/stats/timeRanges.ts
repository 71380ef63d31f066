// Time arithmetic shared by every dialect's statistics: UTC hours, the split of a range around them, bucket starts.
import { sql, type Column, type SQL } from 'drizzle-orm';
import type { StatsBucket } from '../Repository.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
// 1970-01-01 was a Thursday: shifting by three days makes ISO weeks start on Monday.
const MONDAY_SHIFT_MS = 3 * DAY_MS;

/** The start of the UTC hour holding `at` (epoch ms). */
export function hourStartOf(at: number): number {
  return at - (at % HOUR_MS);
}

/** The start of the UTC day holding `at` (epoch ms). */
export function dayStartOf(at: number): number {
  return at - (at % DAY_MS);
}

/** What a dialect says differently about time in SQL. */
export interface TimeDialect {
  /** A timestamp column as integer epoch milliseconds. */
  epochMs(column: Column): SQL;
  /** The first millisecond of the UTC calendar month holding the integer epoch-ms expression `at`. */
  monthStart: SQL;
  /** The start of the UTC hour holding a timestamp column, in the column's own type (for the roll-ups). */
  hourOf(column: Column): SQL;
}

/** The start of the bucket holding `at` (an integer epoch-ms column of the statistics' row union). */
export function bucketStart(bucket: StatsBucket, dialect: TimeDialect): SQL {
  switch (bucket) {
    case 'hour':
      return sql.raw(`at - at % ${HOUR_MS}`);
    case 'day':
      return sql.raw(`at - at % ${DAY_MS}`);
    case 'week':
      return sql.raw(`at - (at + ${MONDAY_SHIFT_MS}) % ${WEEK_MS}`);
    case 'month':
      return dialect.monthStart;
  }
}

/** Where a time range's rows come from: whole hours from a roll-up, the partial hours at its edges from the rows. */
export interface RangeParts {
  /** [from, to) of the whole hours (bounds undefined when open), or undefined when the range holds no whole hour. */
  wholeHours: [number | undefined, number | undefined] | undefined;
  /** Ranges to read row by row: the partial hours at the edges (or the whole range when it has no whole hour). */
  edges: [number | undefined, number | undefined][];
}

/** Splits [from, to) into whole UTC hours and the partial hours around them. */
export function rangeParts(from: number | undefined, to: number | undefined): RangeParts {
  const firstWholeHour = from === undefined ? undefined : Math.ceil(from / HOUR_MS) * HOUR_MS;
  const endOfWholeHours = to === undefined ? undefined : Math.floor(to / HOUR_MS) * HOUR_MS;
  // No whole hour inside the range (an empty range included): its few rows are read directly.
  if (firstWholeHour !== undefined && endOfWholeHours !== undefined && firstWholeHour >= endOfWholeHours) {
    return { wholeHours: undefined, edges: [[from, to]] };
  }
  const edges: [number | undefined, number | undefined][] = [];
  // Two separate ranges rather than one OR, so each stays an index range scan.
  if (from !== undefined && firstWholeHour !== undefined && from < firstWholeHour) edges.push([from, firstWholeHour]);
  if (to !== undefined && endOfWholeHours !== undefined && endOfWholeHours < to) edges.push([endOfWholeHours, to]);
  return { wholeHours: [firstWholeHour, endOfWholeHours], edges };
}
