// The database's settings from the validated configuration, shared by the server and the CLI commands.
import type { AppConfig } from './config.js';
import type { OpenRepositoryOptions } from './db/index.js';

/** PostgreSQL when DATABASE_URL is set, otherwise the SQLite file at DATABASE_PATH. */
export function databaseOptionsOf(config: AppConfig, options: { readonly?: boolean } = {}): OpenRepositoryOptions {
  const readonly = options.readonly ?? false;
  if (config.databaseUrl !== undefined) {
    return {
      dialect: 'postgres',
      url: config.databaseUrl,
      poolSize: config.databasePoolSize,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      applicationName: config.replicaName === undefined ? 'all-in-one' : `all-in-one ${config.replicaName}`,
      readonly,
    };
  }
  return {
    dialect: 'sqlite',
    path: config.databasePath,
    busyTimeoutMs: config.databaseBusyTimeoutMs,
    fileCheckIntervalMs: config.databaseFileCheckMs,
    readonly,
  };
}
