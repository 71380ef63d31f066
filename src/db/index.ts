// The database layer's public surface: open a Repository (SQLite or PostgreSQL), its types and errors. PostgreSQL's
// implementation is loaded only when it is opened (src/db/postgres/index.ts for tools that need the class itself),
// so a SQLite service never loads the pg driver.
export { openRepository, type OpenRepositoryOptions } from './openRepository.js';
export { SqliteRepository } from './sqlite/SqliteRepository.js';
export {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_FILE_CHECK_INTERVAL_MS,
  openSqlite,
  type OpenSqliteOptions,
  type SqliteDatabase,
} from './sqlite/openSqlite.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  postgresLocation,
} from './postgres/settings.js';
export type { OpenPostgresOptions } from './postgres/openPostgres.js';
export { newConversationId } from './ids.js';
export { newLeaseOwner } from './leaseOwner.js';
export * from './Repository.js';
export * from './AnalysisJobStore.js';
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
