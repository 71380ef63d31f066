// Builds the whole service for a test: the real engine on the tiny model, a real SQLite file, the real app.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openDatabase, type AppDatabase } from '../../src/db/index.js';
import { Engine, type EngineOptions } from '../../src/engine/index.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { EngineHolder } from '../../src/service/EngineHolder.js';
import { Services } from '../../src/service/Services.js';

export interface TestService {
  app: App;
  config: AppConfig;
  database: AppDatabase;
  engine: EngineHolder;
  services: Services;
  /** The app's metrics; an engine reports its jobs there with `onJobFinished: (event) => metrics.recordJob(event)`. */
  metrics: Metrics;
  databasePath: string;
  /** POSTs a GraphQL operation in-process through `yoga.fetch` and returns the parsed body. */
  graphql(query: string, variables?: Record<string, unknown>): Promise<GraphQLBody>;
}

export interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string } }[];
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
 * Opens (and migrates) the database at `databasePath`; `engine` may be undefined to test a model still loading.
 * `env` holds environment variables as a user would set them (parsed by the real config loader).
 */
export function createTestService(
  databasePath: string,
  engine: Engine | undefined,
  env: Record<string, string> = {},
): TestService {
  const config: AppConfig = loadConfig({ LOG_LEVEL: 'silent', ...env, DATABASE_PATH: databasePath });
  const database = openDatabase({ path: databasePath, busyTimeoutMs: config.databaseBusyTimeoutMs });
  const holder = new EngineHolder();
  if (engine) holder.set(engine);
  const metrics = createMetrics({ engineStatus: () => holder.current?.status(), processMetrics: false });
  const services = new Services({ database, engine: holder, onSentiment: metrics.recordSentiment, chatTasks: config.chatTasks });
  const app = createApp({ services, config, logger: createLogger(config.logLevel), metrics });
  return {
    app,
    config,
    database,
    engine: holder,
    services,
    metrics,
    databasePath,
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
