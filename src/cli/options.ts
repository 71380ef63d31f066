// Flags shared by the commands; each defaults to the configuration (environment), and a given flag overrides it.
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AppConfig, DatabaseConfig } from '../config.js';

export interface ModelFlags {
  model: string;
  modelsDir: string;
  threads: number;
}

export function addModelOptions(command: Command, config: AppConfig): Command {
  return command
    .option('--model <model>', 'a .gguf path, an hf: URI, or synthetic:tiny (env MODEL)', config.engine.model)
    .option('--models-dir <dir>', 'where models are downloaded or generated (env MODELS_DIR)', config.engine.modelsDir)
    .option('--threads <n>', 'CPU threads for the model (env THREADS)', positiveInteger, config.engine.threads);
}

export function addDatabaseOption(command: Command, config: AppConfig): Command {
  // The default is described, not shown: a DATABASE_URL may hold a password.
  const current = config.database.url === undefined ? config.database.sqlite.path : 'DATABASE_URL';
  return command.option(
    '--db <file-or-url>',
    `SQLite database file or postgres:// URL (env DATABASE_PATH or DATABASE_URL; now ${current})`,
  );
}

export function localeOption(description: string): Option {
  return new Option('--locale <locale>', description).choices(['zh', 'en']);
}

/** The configuration with the model flags (and `--db` when given) applied. */
export function withFlags(config: AppConfig, flags: Partial<ModelFlags> & { db?: string }): AppConfig {
  return {
    ...config,
    engine: {
      ...config.engine,
      ...(flags.model === undefined ? {} : { model: flags.model }),
      ...(flags.modelsDir === undefined ? {} : { modelsDir: path.resolve(flags.modelsDir) }),
      ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    },
    database: withDatabaseFlag(config.database, flags.db),
  };
}

function withDatabaseFlag(database: DatabaseConfig, db: string | undefined): DatabaseConfig {
  if (db === undefined) return database;
  if (/^postgres(ql)?:\/\//.test(db)) return { ...database, url: db };
  return { ...database, url: undefined, sqlite: { ...database.sqlite, path: path.resolve(db) } };
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return parsed;
}

export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) throw new InvalidArgumentError('expected a whole number');
  return parsed;
}
