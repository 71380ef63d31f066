// Refuses dates no database can compare the same way: years 1 to 9999 in UTC, as both dialects store them.
import { BadInputError } from '../engine/index.js';

/** 0001-01-01T00:00:00Z: PostgreSQL has no year 0, which JavaScript's Date (and SQLite's integers) would accept. */
export const EARLIEST_DATE = new Date('0001-01-01T00:00:00.000Z');
/** 9999-12-31T23:59:59.999Z: the last instant an RFC 3339 date-time can name. */
export const LATEST_DATE = new Date('9999-12-31T23:59:59.999Z');

/** @throws BadInputError naming `argument` (e.g. `filter.from`) when `date` lies outside years 1 to 9999 (UTC). */
export function assertDateInRange(date: Date, argument: string): void {
  if (!(date.getTime() >= EARLIEST_DATE.getTime() && date.getTime() <= LATEST_DATE.getTime())) {
    throw new BadInputError({
      message:
        `${argument} must be between ${EARLIEST_DATE.toISOString()} and ${LATEST_DATE.toISOString()} (UTC); ` +
        `got ${Number.isNaN(date.getTime()) ? 'an invalid date' : date.toISOString()}.`,
    });
  }
}
