// The whole service (engine, SQLite, Yoga + graphql-ws) in this process on a loopback port, for engine variants
// that only a benchmark needs, such as the whole-job mutex.
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/app.js';
import { SqliteRepository } from '../../src/db/index.js';
import type { Engine } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { EngineHolder } from '../../src/service/EngineHolder.js';
import { Services } from '../../src/service/Services.js';

export interface InProcessService {
  /** `http://127.0.0.1:<port>` */
  url: string;
  wsUrl: string;
  database: SqliteRepository;
  /** Stops the server and closes the database; the engine stays the caller's. */
  stop(): Promise<void>;
}

export async function startInProcessService(engine: Engine, databasePath: string): Promise<InProcessService> {
  const config = loadConfig({ LOG_LEVEL: 'silent', PLAYGROUND: 'false', DATABASE_PATH: databasePath });
  const database = SqliteRepository.open({ path: config.databasePath });
  const holder = new EngineHolder();
  holder.set(engine);
  const app = createApp({
    services: new Services({ database, engine: holder }),
    config,
    logger: createLogger(config.logLevel),
  });
  const address = await app.start(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${address.port}`,
    wsUrl: `ws://127.0.0.1:${address.port}/graphql`,
    database,
    stop: async () => {
      await app.stop();
      await database.close();
    },
  };
}
