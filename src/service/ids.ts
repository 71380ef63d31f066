// Checks client-supplied ids before they reach the database, so a typo is a clear input error.
import { BadInputError } from '../engine/index.js';

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function assertId(id: string, what: string): void {
  if (!ULID_PATTERN.test(id)) {
    throw new BadInputError({ message: `${what} "${id.slice(0, 40)}" is not a valid id (a 26-character ULID).` });
  }
}
