// Owner scoping: "this owner" in SQL, where a null owner (auth off) matches only rows without one.
import { eq, isNull, sql, type Column, type SQL } from 'drizzle-orm';

// CHECK constraints keep '' from ever being a stored owner, so it can stand for "no owner" in a NOT NULL key.
const NO_OWNER_KEY = '';

/** Matches rows of `owner`; `null` matches rows with no owner, never everyone's. */
export function ownedBy(column: Column, owner: string | null): SQL {
  return owner === null ? isNull(column) : eq(column, owner);
}

/** The hourly roll-up's NOT NULL key for an owner. */
export function ownerKey(owner: string | null): string {
  // Otherwise '' would alias the no-owner key and read data that belongs to nobody in particular.
  if (owner === NO_OWNER_KEY) throw new RangeError('owner must be null or a non-empty string');
  return owner ?? NO_OWNER_KEY;
}

/** The same key computed in SQL from an owner column, for rebuilding the roll-up. */
export function ownerKeyOf(column: Column): SQL {
  return sql`coalesce(${column}, ${NO_OWNER_KEY})`;
}
