// The Repository on one SQLite file: synchronous better-sqlite3 calls behind the async seam.
import { bindQueries, type QueryMethods } from '../bindQueries.js';
import type { ConversationLock, Repository } from '../Repository.js';
import { openSqlite, type OpenSqliteOptions, type SqliteDatabase } from './openSqlite.js';
import { SQLITE_QUERIES } from './queries.js';

// One process owns the file's turns, and the service serializes those itself: nothing else can take this lock.
const HELD_AT_ONCE: ConversationLock = { lost: new AbortController().signal, release: async () => {} };

export interface SqliteRepository extends QueryMethods {}

export class SqliteRepository implements Repository {
  readonly dialect = 'sqlite';
  readonly location: string;
  /** The connection, for tests and tools that need SQLite itself (pragmas, raw statements). */
  readonly database: SqliteDatabase;

  constructor(database: SqliteDatabase) {
    this.database = database;
    this.location = database.path;
    Object.assign(this, bindQueries(database, SQLITE_QUERIES));
  }

  /** @throws DatabaseUnavailableError, DatabaseLockedError, DatabaseInvalidError, DatabaseMigrationError */
  static open(options: OpenSqliteOptions): SqliteRepository {
    return new SqliteRepository(openSqlite(options));
  }

  async lockConversation(_conversationId: string, signal: AbortSignal): Promise<ConversationLock> {
    if (signal.aborted) throw signal.reason;
    return HELD_AT_ONCE;
  }

  async problem(): Promise<string | undefined> {
    return this.database.problem();
  }

  async close(): Promise<void> {
    this.database.close();
  }
}
