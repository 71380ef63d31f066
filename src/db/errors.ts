// Typed database errors with stable codes, and the one place that maps driver errors onto them.
import Database from 'better-sqlite3';
import { CodedError, type CodedErrorOptions } from '../CodedError.js';

export type DatabaseErrorCode =
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_LOCKED'
  | 'DATABASE_INVALID'
  | 'DATABASE_MIGRATION_FAILED';

export type DatabaseErrorOptions = CodedErrorOptions;

export abstract class DatabaseError extends CodedError {
  abstract override readonly code: DatabaseErrorCode;
}

/** The file or its folder cannot be created, opened or written (permissions, missing folder, full disk). */
export class DatabaseUnavailableError extends DatabaseError {
  readonly code = 'DATABASE_UNAVAILABLE';
}

/** Another connection holds a lock on the database for longer than the busy timeout. */
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

const LOCKED_CODES = ['SQLITE_BUSY', 'SQLITE_LOCKED'];
const INVALID_CODES = ['SQLITE_NOTADB', 'SQLITE_CORRUPT'];
const UNAVAILABLE_CODES = ['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_PERM', 'SQLITE_FULL'];
const UNAVAILABLE_FS_CODES = ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOENT', 'ENOSPC'];

// Extended result codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, ...) share their primary code's prefix.
function hasCode(code: string, primaries: readonly string[]): boolean {
  return primaries.some((primary) => code === primary || code.startsWith(`${primary}_`));
}

/**
 * Maps a driver or file-system error to a typed DatabaseError, or returns undefined when it is not a
 * condition of the database itself (a constraint violation, a bug) so callers can let it surface as is.
 */
export function toDatabaseError(error: unknown, path: string): DatabaseError | undefined {
  if (error instanceof DatabaseError) return error;
  if (error instanceof Database.SqliteError) {
    if (hasCode(error.code, LOCKED_CODES)) {
      return new DatabaseLockedError({ message: `Database ${path} is locked by another connection`, cause: error });
    }
    if (hasCode(error.code, INVALID_CODES)) {
      return new DatabaseInvalidError({ message: `${path} is not a valid SQLite database`, cause: error });
    }
    if (hasCode(error.code, UNAVAILABLE_CODES)) {
      return new DatabaseUnavailableError({ message: `Database ${path} cannot be opened or written`, cause: error });
    }
    return undefined;
  }
  const fsCode = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof fsCode === 'string' && UNAVAILABLE_FS_CODES.includes(fsCode)) {
    return new DatabaseUnavailableError({ message: `Database ${path} cannot be created: ${fsCode}`, cause: error });
  }
  return undefined;
}
