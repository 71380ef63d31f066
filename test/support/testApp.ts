// Builds the whole service for a test: the real engine on the tiny model, a real database (SQLite file or PostgreSQL), the real app.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type AppConfig } from '../../src/config.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../src/logger.js';
import { SqliteRepository, type Repository } from '../../src/db/index.js';
import type { SqliteDatabase } from '../../src/db/sqlite/openSqlite.js';
import { Engine, type EngineOptions } from '../../src/engine/index.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { EngineHolder } from '../../src/service/EngineHolder.js';
import { Services } from '../../src/service/Services.js';

export interface TestService {
  app: App;
  config: AppConfig;
  repository: Repository;
  engine: EngineHolder;
  services: Services;
  /** The app's metrics; an engine reports its jobs there with `onJobFinished: (event) => metrics.recordJob(event)`. */
  metrics: Metrics;
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
  const repository = SqliteRepository.open({ path: databasePath, busyTimeoutMs: config.databaseBusyTimeoutMs });
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
  const holder = new EngineHolder();
  if (engine) holder.set(engine);
  const metrics = createMetrics({ engineStatus: () => holder.current?.status(), processMetrics: false });
  const services = new Services({
    database: repository,
    engine: holder,
    onSentiment: metrics.recordSentiment,
    chatTasks: config.chatTasks,
    maxOperationTexts: config.maxOperationTexts,
  });
  const app = createApp({ services, config, logger: createLogger(config.logLevel, {}, logDestination), metrics });
  return {
    app,
    config,
    repository,
    engine: holder,
    services,
    metrics,
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
