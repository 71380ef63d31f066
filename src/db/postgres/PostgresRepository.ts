// The Repository on a shared PostgreSQL: a pool for statements and advisory locks that serialize turns across replicas.
import { bindQueries, type QueryMethods } from '../bindQueries.js';
import type { ConversationLock, Repository } from '../Repository.js';
import { ConversationLocks } from './ConversationLocks.js';
import { openPostgres, type OpenPostgresOptions, type PostgresDatabase } from './openPostgres.js';
import { POSTGRES_QUERIES } from './queries.js';

export interface PostgresRepository extends QueryMethods {}

export class PostgresRepository implements Repository {
  readonly dialect = 'postgres';
  readonly location: string;
  /** The pool and drizzle instance, for tests and tools that need PostgreSQL itself. */
  readonly database: PostgresDatabase;
  readonly #locks: ConversationLocks;

  constructor(database: PostgresDatabase) {
    this.database = database;
    this.location = database.location;
    this.#locks = new ConversationLocks(database.clientConfig, database.location);
    Object.assign(this, bindQueries(database, POSTGRES_QUERIES));
  }

  /** @throws DatabaseUnavailableError (refused, unreachable, bad password, no such database), DatabaseMigrationError */
  static async open(options: OpenPostgresOptions): Promise<PostgresRepository> {
    return new PostgresRepository(await openPostgres(options));
  }

  lockConversation(conversationId: string, signal: AbortSignal): Promise<ConversationLock> {
    return this.#locks.acquire(conversationId, signal);
  }

  problem(): Promise<string | undefined> {
    return this.database.problem();
  }

  async close(): Promise<void> {
    await this.#locks.close();
    await this.database.close();
  }
}
