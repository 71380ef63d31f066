// Connects to PostgreSQL: a pool for statements, a check that the server answers, migrations under an advisory lock.
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { DatabaseMigrationError, DatabaseUnavailableError } from '../errors.js';
import { migrationsFolder } from '../migrationsFolder.js';
import { WriteHealth } from '../WriteHealth.js';
import { toPostgresError, writeFailureReason } from './errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT_MS, postgresLocation } from './settings.js';
import * as schema from './schema.js';


const MIGRATIONS_FOLDER = migrationsFolder('postgres');
// drizzle's migrator keeps its table in its own schema ("drizzle"), apart from the application's tables.
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';
// One advisory lock key for "migrating this database": replicas starting together take turns, never race.
const MIGRATION_LOCK_KEY = 0x41_49_4f_4d; // "AIOM"
/** How long /readyz waits for the server to answer a trivial query. */
const PROBE_TIMEOUT_MS = 2_000;

export type PgSchema = typeof schema;
export type PgDb = NodePgDatabase<PgSchema>;
/** The database or a transaction on it. */
export type PgExecutor = Parameters<Parameters<PgDb['transaction']>[0]>[0] | PgDb;

export interface OpenPostgresOptions {
  /** postgres:// or postgresql:// URL; may carry sslmode and the other libpq parameters pg understands. */
  url: string;
  /** Connections in the pool; the conversation locks use one more, and one per contended turn. */
  poolSize?: number;
  /** How long to wait for a connection, new or from the pool, before DATABASE_UNAVAILABLE. */
  connectTimeoutMs?: number;
  /** The server cancels a statement running longer than this (0: never); the client gives up a little later. */
  statementTimeoutMs?: number;
  /** Shown in pg_stat_activity, so a DBA can tell the replicas apart. */
  applicationName?: string;
  /** Migrate nothing; the schema must already be current (for read-only tools). */
  readonly?: boolean;
}

export interface PostgresDatabase {
  db: PgDb;
  pool: pg.Pool;
  /** host:port/database, never the password. */
  location: string;
  /** What every connection of this database is opened with (the lock sessions open their own). */
  clientConfig: pg.ClientConfig;
  /** Runs `work` in one transaction; resolves once COMMIT succeeded. Driver faults become DatabaseError. */
  write<T>(work: (tx: PgExecutor) => Promise<T>): Promise<T>;
  /** Runs `work` in a read-only REPEATABLE READ transaction (one snapshot), with faults mapped. */
  read<T>(work: (tx: PgExecutor) => Promise<T>): Promise<T>;
  /** Maps a driver fault to DatabaseError (or returns it unchanged). */
  mapError(error: unknown): unknown;
  /** Why the database cannot take writes now (unreachable; the last write failed and a probe write still fails). */
  problem(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Opens a pool on `options.url`, checks that the server accepts it, and (unless read-only) applies the migrations
 * under an advisory lock.
 *
 * @throws DatabaseUnavailableError (refused, unreachable, bad password, no such database), DatabaseMigrationError
 */
export async function openPostgres(options: OpenPostgresOptions): Promise<PostgresDatabase> {
  const location = postgresLocation(options.url);
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const clientConfig: pg.ClientConfig = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...(options.applicationName ? { application_name: options.applicationName } : {}),
  };
  const pool = new pg.Pool({
    ...clientConfig,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + 1_000 } : {}),
    // A transaction left open by a bug must not hold its row locks forever.
    idle_in_transaction_session_timeout: Math.max(statementTimeoutMs, 60_000),
  });
  // An idle connection that drops (a server restart) is removed from the pool and the next statement reports it;
  // without a listener the 'error' event would end the process.
  pool.on('error', () => {});
  // A connection that drops while checked out (in a transaction) also emits 'error', where the pool no longer
  // listens; the statement on it fails and reports it, so the event itself needs no more than a listener.
  pool.on('connect', (client) => client.on('error', () => {}));
  const mapError = (error: unknown): unknown => toPostgresError(error, location) ?? error;
  try {
    if (options.readonly) await assertMigrated(pool, location);
    else await migrateUnderLock(clientConfig, location);
  } catch (error) {
    await pool.end();
    throw mapError(error);
  }

  const db = drizzle({ client: pool, schema });
  const mapped = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw mapError(error);
    }
  };
  const health = new WriteHealth(writeFailureReason);
  // Assigning a transaction id is what a standby refuses; a session whose transactions default to read-only would
  // refuse the service's writes although it assigns one, so that is checked too.
  const probeWrite = async (): Promise<void> => {
    const { rows } = await mapped(() =>
      withTimeout(
        pool.query<{ readOnly: string }>(`select txid_current(), current_setting('transaction_read_only') as "readOnly"`),
        PROBE_TIMEOUT_MS,
      ),
    );
    if (rows[0]?.readOnly === 'on') {
      throw new DatabaseUnavailableError({ message: `PostgreSQL at ${location} is read-only`, cause: { code: '25006' } });
    }
  };
  let closed: Promise<void> | undefined;
  return {
    db,
    pool,
    location,
    clientConfig,
    write: async (work) => {
      try {
        const result = await mapped(() => db.transaction(work));
        health.succeeded();
        return result;
      } catch (error) {
        health.failed(error);
        throw error;
      }
    },
    read: (work) => mapped(() => db.transaction(work, { isolationLevel: 'repeatable read', accessMode: 'read only' })),
    mapError,
    problem: async () => {
      try {
        await withTimeout(pool.query('select 1'), PROBE_TIMEOUT_MS);
      } catch {
        return 'the database cannot be reached';
      }
      return health.check(probeWrite);
    },
    close: () => (closed ??= pool.end()),
  };
}

// Its own connection, without the pool's statement timeout: a replica waiting for another's migration, or a long
// migration itself, must not be cancelled half way.
async function migrateUnderLock(clientConfig: pg.ClientConfig, location: string): Promise<void> {
  const client = new pg.Client(clientConfig);
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrate(drizzle({ client }), {
        migrationsFolder: MIGRATIONS_FOLDER,
        migrationsSchema: MIGRATIONS_SCHEMA,
        migrationsTable: MIGRATIONS_TABLE,
      });
    } catch (error) {
      throw (
        toPostgresError(error, location) ??
        new DatabaseMigrationError({ message: `Migrating PostgreSQL at ${location} failed`, cause: error })
      );
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function assertMigrated(pool: pg.Pool, location: string): Promise<void> {
  const latest = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).at(-1)?.folderMillis ?? 0;
  let applied: number;
  try {
    const result = await pool.query<{ at: string | null }>(
      `select max(created_at) as at from "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`,
    );
    applied = Number(result.rows[0]?.at ?? 0);
  } catch (error) {
    throw (
      toPostgresError(error, location) ??
      new DatabaseMigrationError({ message: `PostgreSQL at ${location} was never migrated`, cause: error })
    );
  }
  if (applied < latest) {
    throw new DatabaseMigrationError({ message: `PostgreSQL at ${location} needs migrating; start the service once` });
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError({ message: 'probe timed out' })), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
