// Opens the configured database: PostgreSQL when a URL is given, otherwise the SQLite file.
import type { OpenPostgresOptions } from './postgres/openPostgres.js';
import type { Repository } from './Repository.js';
import { SqliteRepository } from './sqlite/SqliteRepository.js';
import type { OpenSqliteOptions } from './sqlite/openSqlite.js';

export type OpenRepositoryOptions =
  ({ dialect: 'postgres' } & OpenPostgresOptions) | ({ dialect: 'sqlite' } & OpenSqliteOptions);

/**
 * Opens and (unless read-only) migrates the database.
 *
 * @throws DatabaseUnavailableError, DatabaseLockedError, DatabaseInvalidError, DatabaseMigrationError
 */
export async function openRepository(options: OpenRepositoryOptions): Promise<Repository> {
  if (options.dialect === 'sqlite') return SqliteRepository.open(options);
  // Loaded on demand: a SQLite service never pays for the pg driver (about 20 MB resident).
  const { PostgresRepository } = await import('./postgres/PostgresRepository.js');
  return PostgresRepository.open(options);
}
