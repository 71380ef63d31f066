// Time arithmetic shared by every dialect's statistics: UTC hours and days, the split of a range around them, bucket
// starts.
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
  /** The start of the UTC day holding a timestamp column, in the column's own type. */
  dayOf(column: Column): SQL;
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

/** [from, to) in epoch ms; a bound is undefined when open. */
export type TimeRange = [number | undefined, number | undefined];

/**
 * Where a time range's rows come from: whole UTC days from the daily roll-up, whole hours from the hourly one, the
 * partial hours at the edges from the rows.
 */
export interface RangeParts {
  /** The whole days, or undefined when none is read from the daily roll-up. */
  wholeDays: TimeRange | undefined;
  /** The whole hours outside those days (the partial days at the edges), or all of them when no day is read. */
  wholeHours: TimeRange[];
  /** Ranges to read row by row: the partial hours at the edges (or the whole range when it has no whole hour). */
  edges: TimeRange[];
}

/**
 * Splits [from, to) into whole UTC days, whole hours and the partial hours around them. Days are used only when a
 * bucket is a union of whole UTC days (day, week from Monday, calendar month), so a day's count falls in one bucket.
 */
export function rangeParts(from: number | undefined, to: number | undefined, bucket: StatsBucket): RangeParts {
  const hours = wholeWithin(from, to, HOUR_MS);
  // No whole hour inside the range (an empty range included): its few rows are read directly.
  if (hours === undefined) return { wholeDays: undefined, wholeHours: [], edges: [[from, to]] };
  const days = bucket === 'hour' ? undefined : wholeWithin(hours[0], hours[1], DAY_MS);
  return {
    wholeDays: days,
    wholeHours: days === undefined ? [hours] : around(hours, days),
    edges: around([from, to], hours),
  };
}

// The whole units inside [from, to), or undefined when there is none.
function wholeWithin(from: number | undefined, to: number | undefined, unit: number): TimeRange | undefined {
  const first = from === undefined ? undefined : Math.ceil(from / unit) * unit;
  const end = to === undefined ? undefined : Math.floor(to / unit) * unit;
  return first !== undefined && end !== undefined && first >= end ? undefined : [first, end];
}

// The parts of `outer` before and after `inner` (which it contains). Two separate ranges rather than one OR, so each
// stays an index range scan.
function around([from, to]: TimeRange, [first, end]: TimeRange): TimeRange[] {
  const parts: TimeRange[] = [];
  if (from !== undefined && first !== undefined && from < first) parts.push([from, first]);
  if (to !== undefined && end !== undefined && end < to) parts.push([end, to]);
  return parts;
}
