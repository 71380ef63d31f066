// Opens the SQLite file: creates its folder, sets pragmas, checks for a foreign write lock, runs migrations.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { DatabaseMigrationError, toDatabaseError } from './errors.js';
import * as schema from './schema.js';

/** How long a statement waits for another connection's lock before giving up with DATABASE_LOCKED. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

// Resolved from this module, not the working directory, so the CLI works from any folder (src/ and dist/ alike).
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
// drizzle's migrator records applied migrations here; read-only opens compare it with the folder.
const MIGRATIONS_TABLE = '__drizzle_migrations';

export type AppSchema = typeof schema;

/** The database or a transaction on it: helpers that must join the caller's transaction take this. */
export type DbExecutor = BaseSQLiteDatabase<'sync', Database.RunResult, AppSchema>;

export interface OpenDatabaseOptions {
  /** Path of the database file; a missing folder is created. */
  path: string;
  /** Open for reading only: creates nothing and migrates nothing, so the schema must already be current. */
  readonly?: boolean;
  /** How long to wait for another connection's lock, at open and for every later statement. */
  busyTimeoutMs?: number;
}

export interface AppDatabase {
  db: BetterSQLite3Database<AppSchema>;
  sqlite: Database.Database;
  /** Absolute path of the database file. */
  path: string;
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
export function openDatabase(options: OpenDatabaseOptions): AppDatabase {
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
    throw toDatabaseError(error, path) ?? error;
  }

  const db = drizzle({ client: sqlite, schema });
  if (!readonly) {
    try {
      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER, migrationsTable: MIGRATIONS_TABLE });
    } catch (error) {
      sqlite.close();
      throw (
        toDatabaseError(error, path) ??
        new DatabaseMigrationError({ message: `Migrating database ${path} failed`, cause: error })
      );
    }
  }

  return {
    db,
    sqlite,
    path,
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

function connect(path: string, readonly: boolean): Database.Database {
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true });
    return new Database(path, { readonly, fileMustExist: readonly });
  } catch (error) {
    throw toDatabaseError(error, path) ?? error;
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
      toDatabaseError(error, path) ??
      new DatabaseMigrationError({ message: `Database ${path} was never migrated`, cause: error })
    );
  }
  if (applied < latest) {
    throw new DatabaseMigrationError({ message: `Database ${path} needs migrating; open it writable once` });
  }
}
