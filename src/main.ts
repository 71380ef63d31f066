// Entry point of the service: load config, open the database, listen, load the model, stop cleanly on signals.
import { createApp } from './app.js';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import { openDatabase, type AppDatabase } from './db/index.js';
import { Engine } from './engine/index.js';
import { createLogger } from './logger.js';
import { EngineHolder } from './service/EngineHolder.js';
import { Services } from './service/Services.js';

/** A stuck shutdown must not keep the process alive forever. */
const SHUTDOWN_LIMIT_MS = 15_000;

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    return exitWith(error);
  }
  const log = createLogger(config.logLevel);
  let database: AppDatabase;
  try {
    database = openDatabase({ path: config.databasePath });
  } catch (error) {
    return exitWith(error);
  }
  const engineHolder = new EngineHolder();
  const services = new Services({ database, engine: engineHolder });
  const app = createApp({ services, config, logger: log });
  let address;
  try {
    address = await app.start(config.port, config.host);
  } catch (error) {
    database.close();
    return exitWith(error, `cannot listen on ${config.host}:${config.port}`);
  }
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url, playground: `${url}/graphql`, database: database.path }, 'listening; loading the model');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    forced.unref();
    // Readiness fails first, then running turns stop (their partial replies are stored), then sockets and DB close.
    const engine = engineHolder.close();
    const stopped = app.stop();
    await engine?.dispose();
    await stopped;
    database.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    const engine = await Engine.load({
      model: config.model,
      modelsDir: config.modelsDir,
      threads: config.threads,
      contextSize: config.contextSize,
      batchSize: config.batchSize,
      warmConversations: config.warmConversations,
      maxQueue: config.maxQueue,
      jobTimeoutMs: config.jobTimeoutMs,
      maxInputChars: config.maxInputChars,
      maxBatchTexts: config.maxBatchTexts,
      gpu: config.gpu,
      useMmap: config.useMmap,
      showDownloadProgress: true,
      onWarning: (message) => log.warn(message),
    });
    if (stopping) return void (await engine.dispose());
    engineHolder.set(engine);
    const status = engine.status();
    log.info(
      {
        url,
        playground: `${url}/graphql`,
        model: status.model.name,
        modelSource: status.model.source.spec,
        modelPath: status.model.source.path,
        synthetic: status.model.synthetic,
        loadMs: Math.round(status.model.loadMs),
        threads: status.threads,
        contextSize: status.contextSize,
        database: database.path,
        auth: 'off',
      },
      'ready',
    );
  } catch (error) {
    await app.stop();
    database.close();
    return exitWith(error);
  }
}

/** Start-up faults end with one clear line and a non-zero exit, never a stack dump. */
function exitWith(error: unknown, context?: string): never {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = error instanceof ConfigError ? 'Invalid configuration: ' : context ? `Error: ${context}: ` : 'Error: ';
  process.stderr.write(`all-in-one: ${prefix}${message}\n`);
  process.exit(1);
}

await main();
