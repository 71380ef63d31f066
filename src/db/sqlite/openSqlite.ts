// Opens the SQLite file: creates its folder, sets pragmas, checks for a foreign write lock, runs migrations, gives back
// job leases a dead process left.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { DatabaseMigrationError, DatabaseUnavailableError } from '../errors.js';
import { migrationsFolder } from '../migrationsFolder.js';
import { WriteHealth } from '../WriteHealth.js';
import { DatabaseFiles } from './DatabaseFiles.js';
import { toSqliteError, writeFailureReason } from './errors.js';
import { releaseLeasesOfGoneHolders } from './jobClaims.js';
import * as schema from './schema.js';

/** How long a statement waits for another connection's lock before giving up with DATABASE_LOCKED. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** How often the files are checked between writes (a removed write-ahead log is rebuilt within this time). */
export const DEFAULT_FILE_CHECK_INTERVAL_MS = 1_000;

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
  /** How often, between writes, to check that the files are still the ones opened (writes check them anyway). */
  fileCheckIntervalMs?: number;
  /** Told when the database repaired something an operator should know of (a write-ahead log deleted under it). */
  onWarning?: (message: string) => void;
}

export interface SqliteDatabase {
  db: BetterSQLite3Database<SqliteSchema>;
  sqlite: Database.Database;
  /** Absolute path of the database file. */
  path: string;
  /**
   * Runs `work` in one IMMEDIATE transaction and returns its result only once COMMIT has succeeded: a row that
   * `RETURNING` handed back is never reported when the commit then failed (a full disk). Checks before and after that
   * the files are still the ones opened (rebuilding a removed write-ahead log). Driver faults become DatabaseError
   * (busy, locked, full, I/O: unavailable) and are remembered for `problem()` until a write succeeds.
   */
  write<T>(work: (tx: DbExecutor) => T): T;
  /** Runs `work` (a read, or a read transaction) with driver faults mapped to DatabaseError. */
  read<T>(work: (db: BetterSQLite3Database<SqliteSchema>) => T): T;
  /**
   * Why the database cannot take writes now (its file removed, replaced or unwritable; the last write failed — locked,
   * full, read-only, I/O — and a probe write still fails), or undefined. No path in it.
   */
  problem(): Promise<string | undefined>;
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
      releaseLeasesOfGoneHolders(db);
    } catch (error) {
      sqlite.close();
      throw (
        toSqliteError(error, path) ??
        new DatabaseMigrationError({ message: `Migrating database ${path} failed`, cause: error })
      );
    }
  }

  const onWarning = options.onWarning;
  const files = readonly ? undefined : new DatabaseFiles({ sqlite, path, ...(onWarning ? { onWarning } : {}) });
  const health = new WriteHealth(writeFailureReason);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const mapped = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw toSqliteError(error, path) ?? error;
    }
  };
  const assertFiles = (): void => {
    const reason = files?.check();
    if (reason) throw new DatabaseUnavailableError({ message: `Database ${path} cannot be written: ${reason}` });
  };
  // A write of its own that waits for no lock: rewriting the header's user_version appends a frame to the log.
  const probeWrite = (): void =>
    mapped(() => {
      sqlite.pragma('busy_timeout = 0');
      try {
        const version = sqlite.pragma('user_version', { simple: true }) as number;
        sqlite.pragma(`user_version = ${version}`);
      } finally {
        sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
      }
    });
  // Between writes too, so a log removed after the last write is rebuilt before a crash could lose what it holds.
  const watch = files && setInterval(() => files.check(), options.fileCheckIntervalMs ?? DEFAULT_FILE_CHECK_INTERVAL_MS);
  watch?.unref();

  return {
    db,
    sqlite,
    path,
    write<T>(work: (tx: DbExecutor) => T): T {
      return mapped(() => {
        assertFiles();
        let result: T;
        try {
          result = db.transaction(work, { behavior: 'immediate' });
        } catch (error) {
          health.failed(toSqliteError(error, path));
          throw error;
        }
        health.succeeded();
        // Before the write is acknowledged: had the log been removed meanwhile, its commits reach the database file.
        assertFiles();
        return result;
      });
    },
    read: (work) => mapped(() => work(db)),
    problem: async () => files?.check() ?? (await health.check(probeWrite)),
    close() {
      clearInterval(watch);
      if (sqlite.open) sqlite.close();
    },
  };
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
