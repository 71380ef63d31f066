// SQLite's and the file system's errors mapped onto the typed database errors.
import Database from 'better-sqlite3';
import { DatabaseInvalidError, DatabaseLockedError, DatabaseUnavailableError, DatabaseError } from '../errors.js';

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
export function toSqliteError(error: unknown, path: string): DatabaseError | undefined {
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

const WRITE_FAILURES: readonly [primaries: readonly string[], reason: string][] = [
  [LOCKED_CODES, 'it is locked by another connection'],
  [['SQLITE_FULL', 'ENOSPC'], 'the disk is full'],
  [['SQLITE_READONLY', 'SQLITE_PERM', 'EROFS', 'EACCES', 'EPERM'], 'it is read-only'],
  [['SQLITE_IOERR'], 'the disk reported an I/O error'],
];

/**
 * Why a write failed, in words fit for /readyz (no path), when the failure is a condition of the database; undefined
 * for anything else (a constraint violation, a bug).
 */
export function writeFailureReason(error: unknown): string | undefined {
  if (!(error instanceof DatabaseError)) return undefined;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return 'a write failed';
  return WRITE_FAILURES.find(([primaries]) => hasCode(code, primaries))?.[1] ?? 'a write failed';
}
