// The database layer's public surface: open a Repository (SQLite or PostgreSQL), its types and errors.
export { openRepository, type OpenRepositoryOptions } from './openRepository.js';
export { SqliteRepository } from './sqlite/SqliteRepository.js';
export { DEFAULT_BUSY_TIMEOUT_MS, openSqlite, type OpenSqliteOptions, type SqliteDatabase } from './sqlite/openSqlite.js';
export { PostgresRepository } from './postgres/PostgresRepository.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  postgresLocation,
  type OpenPostgresOptions,
} from './postgres/openPostgres.js';
export * from './Repository.js';
export * from './rows.js';
export {
  DatabaseError,
  DatabaseInvalidError,
  DatabaseLockedError,
  DatabaseMigrationError,
  DatabaseUnavailableError,
  type DatabaseErrorCode,
  type DatabaseErrorOptions,
} from './errors.js';
