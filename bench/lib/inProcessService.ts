// The whole service (engine, SQLite, Yoga + graphql-ws) in this process on a loopback port, for engine variants
// that only a benchmark needs, such as the whole-job mutex.
import { loadConfig } from '../../src/config.js';
import { createService } from '../../src/createService.js';
import { SqliteRepository } from '../../src/db/index.js';
import type { Engine } from '../../src/engine/index.js';

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
  const database = SqliteRepository.open(config.database.sqlite);
  // No process metrics: the event-loop sampling would run beside what is measured.
  const { app } = createService(config, { repository: database, engine, processMetrics: false });
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
