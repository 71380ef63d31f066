// Builds the whole service for a test: the real engine on the tiny model, a real database (SQLite file or PostgreSQL), the real app.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { DestinationStream } from 'pino';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/createService.js';
import { SqliteRepository, type Repository } from '../../src/db/index.js';
import type { SqliteDatabase } from '../../src/db/sqlite/openSqlite.js';
import { Engine, type EngineOptions } from '../../src/engine/index.js';

/**
 * The service as `createService` assembles it; an engine the test loads reports its jobs to the metrics with
 * `onJobFinished: (event) => metrics.recordJob(event)`.
 */
export interface TestService extends Service {
  /** POSTs a GraphQL operation in-process through `yoga.fetch` and returns the parsed body. */
  graphql(query: string, variables?: Record<string, unknown>): Promise<GraphQLBody>;
}

export interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string } }[];
}

/** A service on a SQLite file, whose connection tests may use directly (pragmas, raw statements). */
export interface SqliteTestService extends TestService {
  database: SqliteDatabase;
  databasePath: string;
}

/**
 * One thread: the tiny model needs no more, and llama.cpp's threads spin-wait for each other, so on a busy
 * 2-core machine two threads can be many times slower than one.
 */
export const TEST_THREADS = 1;

export function loadTestEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  return Engine.load({
    model: inject('tinyModelPath'),
    modelsDir: inject('modelsDir'),
    threads: TEST_THREADS,
    contextSize: 2048,
    ...overrides,
  });
}

/** A folder removed when the suite ends; each suite keeps its own SQLite files there. */
export function createScratchDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Opens (and migrates) the SQLite file at `databasePath`; `engine` may be undefined to test a model still loading.
 * `env` holds environment variables as a user would set them (parsed by the real config loader).
 */
export function createTestService(
  databasePath: string,
  engine: Engine | undefined,
  env: Record<string, string> = {},
): SqliteTestService {
  const config: AppConfig = loadConfig({ LOG_LEVEL: 'silent', ...env, DATABASE_PATH: databasePath });
  const repository = SqliteRepository.open(config.database.sqlite);
  return { ...createTestServiceOn(repository, engine, env), database: repository.database, databasePath };
}

/**
 * The service on an open repository of either dialect (see test/support/dialects.ts); its JSON log lines go to
 * `logDestination` when given (set LOG_LEVEL in `env` to see them), else to stdout.
 */
export function createTestServiceOn(
  repository: Repository,
  engine: Engine | undefined,
  env: Record<string, string> = {},
  logDestination?: DestinationStream,
): TestService {
  const config: AppConfig = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const service = createService(config, { repository, engine, logDestination, processMetrics: false });
  const { app } = service;
  return {
    ...service,
    graphql: async (query, variables) => {
      const response = await app.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLBody;
    },
  };
}
