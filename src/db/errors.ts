// Typed database errors with stable codes; each dialect maps its driver's errors onto them (sqlite/, postgres/).
import { CodedError, type CodedErrorOptions } from '../CodedError.js';

export type DatabaseErrorCode =
  'DATABASE_UNAVAILABLE' | 'DATABASE_LOCKED' | 'DATABASE_INVALID' | 'DATABASE_MIGRATION_FAILED';

export type DatabaseErrorOptions = CodedErrorOptions;

export abstract class DatabaseError extends CodedError {
  abstract override readonly code: DatabaseErrorCode;
}

/**
 * The database cannot be reached, opened or written: a file's permissions, folder or full disk; a server refusing,
 * dropping or running out of connections. Retrying later may succeed.
 */
export class DatabaseUnavailableError extends DatabaseError {
  readonly code = 'DATABASE_UNAVAILABLE';
}

/** Another connection holds a lock for longer than the busy timeout. */
export class DatabaseLockedError extends DatabaseError {
  readonly code = 'DATABASE_LOCKED';
}

/** The file exists but is not a SQLite database, or is corrupt. */
export class DatabaseInvalidError extends DatabaseError {
  readonly code = 'DATABASE_INVALID';
}

/** The schema could not be brought up to date (or, read-only, is not up to date). */
export class DatabaseMigrationError extends DatabaseError {
  readonly code = 'DATABASE_MIGRATION_FAILED';
}
