// Opens the SQLite file: creates its folder, sets pragmas, checks for a foreign write lock, runs migrations.
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { DatabaseMigrationError, DatabaseUnavailableError } from '../errors.js';
import { migrationsFolder } from '../migrationsFolder.js';
import { toSqliteError } from './errors.js';
import * as schema from './schema.js';

/** How long a statement waits for another connection's lock before giving up with DATABASE_LOCKED. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

const MIGRATIONS_FOLDER = migrationsFolder('sqlite');
// drizzle's migrator records applied migrations here; read-only opens compare it with the folder.
const MIGRATIONS_TABLE = '__drizzle_migrations';

export type SqliteSchema = typeof schema;

/** The database or a transaction on it: helpers that must join the caller's transaction take this. */
export type DbExecutor = BaseSQLiteDatabase<'sync', Database.RunResult, SqliteSchema>;

export interface OpenSqliteOptions {
  /** Path of the database file; a missing folder is created. */
  path: string;
  /** Open for reading only: creates nothing and migrates nothing, so the schema must already be current. */
  readonly?: boolean;
  /** How long to wait for another connection's lock, at open and for every later statement. */
  busyTimeoutMs?: number;
}

export interface SqliteDatabase {
  db: BetterSQLite3Database<SqliteSchema>;
  sqlite: Database.Database;
  /** Absolute path of the database file. */
  path: string;
  /**
   * Runs `work` in one IMMEDIATE transaction and returns its result only once COMMIT has succeeded: a row that
   * `RETURNING` handed back is never reported when the commit then failed (a full disk). Checks first that the
   * files are still the ones opened. Driver faults become DatabaseError (busy, locked, full, I/O: unavailable).
   */
  write<T>(work: (tx: DbExecutor) => T): T;
  /** Runs `work` (a read, or a read transaction) with driver faults mapped to DatabaseError. */
  read<T>(work: (db: BetterSQLite3Database<SqliteSchema>) => T): T;
  /** Why the database cannot take writes now (its file removed, replaced or unwritable), or undefined. */
  problem(): string | undefined;
  /** Closes the connection (checkpointing the WAL); calling it again does nothing. */
  close(): void;
}

/**
 * Opens (creating and migrating when writable) the database at `options.path`.
 *
 * Lock detection: SQLite's own file locks are the lock — the OS drops them when their holder dies, so there
 * is no stale lock file to clean up. A writable open takes and releases the write lock (BEGIN IMMEDIATE)
 * within the busy timeout; if another process keeps a write transaction or an exclusive lock open longer,
 * the open fails with DATABASE_LOCKED. Other well-behaved processes (a second server, the seed script, a
 * read-only reader) may share the file: WAL lets readers run beside the single writer.
 *
 * @throws DatabaseUnavailableError, DatabaseLockedError, DatabaseInvalidError, DatabaseMigrationError
 */
export function openSqlite(options: OpenSqliteOptions): SqliteDatabase {
  const path = resolve(options.path);
  const readonly = options.readonly ?? false;
  const sqlite = connect(path, readonly);
  try {
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
    if (readonly) {
      assertMigrated(sqlite, path);
    } else {
      sqlite.pragma('journal_mode = WAL');
      // In WAL mode NORMAL loses no committed data on a process crash, only (at worst) on power loss.
      sqlite.pragma('synchronous = NORMAL');
      sqlite.exec('BEGIN IMMEDIATE');
      sqlite.exec('COMMIT');
    }
  } catch (error) {
    sqlite.close();
    throw toSqliteError(error, path) ?? error;
  }

  const db = drizzle({ client: sqlite, schema });
  if (!readonly) {
    try {
      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER, migrationsTable: MIGRATIONS_TABLE });
    } catch (error) {
      sqlite.close();
      throw (
        toSqliteError(error, path) ??
        new DatabaseMigrationError({ message: `Migrating database ${path} failed`, cause: error })
      );
    }
  }

  const files = readonly ? undefined : fileIdentities(path);
  const problem = (): string | undefined => (files ? filesProblem(path, files) : undefined);
  const mapped = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw toSqliteError(error, path) ?? error;
    }
  };

  return {
    db,
    sqlite,
    path,
    write: (work) =>
      mapped(() => {
        const reason = problem();
        if (reason) throw new DatabaseUnavailableError({ message: `Database ${path} cannot be written: ${reason}` });
        return db.transaction(work, { behavior: 'immediate' });
      }),
    read: (work) => mapped(() => work(db)),
    problem,
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

interface FileIdentity {
  path: string;
  dev: number;
  ino: number;
}

/** The database file and its write-ahead log as opened: writes into them after they are unlinked would be lost. */
function fileIdentities(path: string): FileIdentity[] {
  return [path, `${path}-wal`].flatMap((file) => {
    const stats = statOrUndefined(file);
    return stats ? [{ path: file, dev: stats.dev, ino: stats.ino }] : [];
  });
}

function filesProblem(path: string, opened: readonly FileIdentity[]): string | undefined {
  for (const file of opened) {
    const stats = statOrUndefined(file.path);
    const name = file.path === path ? 'the database file' : 'its write-ahead log';
    if (!stats) return `${name} was removed while the service was running`;
    if (stats.dev !== file.dev || stats.ino !== file.ino) return `${name} was replaced while the service was running`;
  }
  try {
    accessSync(path, constants.W_OK);
  } catch {
    return 'the database file is no longer writable';
  }
  return undefined;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function connect(path: string, readonly: boolean): Database.Database {
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true });
    return new Database(path, { readonly, fileMustExist: readonly });
  } catch (error) {
    throw toSqliteError(error, path) ?? error;
  }
}

function assertMigrated(sqlite: Database.Database, path: string): void {
  const latest = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).at(-1)?.folderMillis ?? 0;
  let applied: number;
  try {
    const row = sqlite.prepare(`SELECT max(created_at) AS at FROM ${MIGRATIONS_TABLE}`).get() as { at: number | null };
    applied = Number(row.at ?? 0);
  } catch (error) {
    throw (
      toSqliteError(error, path) ??
      new DatabaseMigrationError({ message: `Database ${path} was never migrated`, cause: error })
    );
  }
  if (applied < latest) {
    throw new DatabaseMigrationError({ message: `Database ${path} needs migrating; open it writable once` });
  }
}
