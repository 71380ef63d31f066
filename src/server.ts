// The service's life: open the database, listen, load the model, print the banner, stop cleanly on signals.
import { createApp } from './app.js';
import { CodedError } from './CodedError.js';
import type { AppConfig } from './config.js';
import { databaseOptionsOf } from './databaseOptions.js';
import { openRepository } from './db/index.js';
import { Engine } from './engine/index.js';
import { engineOptionsOf } from './engineOptions.js';
import { createLogger } from './logger.js';
import { createMetrics } from './observability/metrics.js';
import { formatStartupBanner } from './observability/startupBanner.js';
import { logWarmUpProgress } from './observability/warmUpLog.js';
import { EngineHolder } from './service/EngineHolder.js';
import { Services } from './service/Services.js';
import { createShutdown } from './shutdown.js';

/** A stuck shutdown must not keep the process alive forever. */
const SHUTDOWN_LIMIT_MS = 15_000;

/** Listening failed (port taken, address not available); the message names the address. */
export class ListenError extends CodedError {
  readonly code = 'LISTEN_FAILED';
}

/**
 * Runs the service until SIGTERM or SIGINT, then exits the process. Resolves once the model is loaded;
 * rejects (after closing what it opened) when the database, the port or the model is unavailable.
 */
export async function runServer(config: AppConfig): Promise<void> {
  const log = createLogger(config.logLevel, config.replicaName === undefined ? {} : { replica: config.replicaName });
  const databaseOptions = databaseOptionsOf(config);
  const database = await openRepository(
    databaseOptions.dialect === 'sqlite'
      ? { ...databaseOptions, onWarning: (message) => log.warn({ database: databaseOptions.path }, message) }
      : databaseOptions,
  );
  const engineHolder = new EngineHolder();
  const metrics = createMetrics({
    engineStatus: () => engineHolder.current?.status(),
    ...(config.replicaName === undefined ? {} : { replica: config.replicaName }),
  });
  const services = new Services({
    database,
    engine: engineHolder,
    onSentiment: metrics.recordSentiment,
    chatTasks: config.chatTasks,
    maxOperationTexts: config.maxOperationTexts,
  });
  const app = createApp({ services, config, logger: log, metrics });
  let address;
  try {
    address = await app.start(config.port, config.host);
  } catch (error) {
    await database.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ListenError({ message: `cannot listen on ${config.host}:${config.port}: ${reason}`, cause: error });
  }
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url, playground: `${url}/graphql`, database: database.location }, 'listening; loading the model');

  const shutdown = createShutdown({ app, database, engineHolder, services, logger: log });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const forced = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    forced.unref();
    try {
      await shutdown(signal);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    const engine = await Engine.load({
      ...engineOptionsOf(config),
      onWarning: (message) => log.warn(message),
      onWarmUp: logWarmUpProgress(log),
      onJobFinished: metrics.recordJob,
    });
    if (stopping) return void (await engine.dispose());
    engineHolder.set(engine);
    const status = engine.status();
    const { model, threads, contextSize } = status;
    const auth = config.apiKeys.length > 0;
    log.info(
      {
        url,
        playground: config.playground ? `${url}/graphql` : null,
        metrics: `${url}/metrics`,
        model: model.name,
        modelSource: model.source.spec,
        modelPath: model.source.path,
        synthetic: model.synthetic,
        loadMs: Math.round(model.loadMs),
        threads,
        contextSize,
        runtime: status.runtime,
        maxParallelReplies: status.maxParallelReplies,
        database: database.location,
        auth: auth ? 'on' : 'off',
      },
      'ready',
    );
    if (!auth) log.warn({ url }, 'API_KEYS is not set: anyone who can reach this address may call the API');
    if (config.logLevel !== 'silent') {
      const { playground, metricsAuth } = config;
      const banner = { url, playground, metricsAuth, model, engine: status, database: database.location, auth };
      process.stderr.write(formatStartupBanner(banner));
    }
  } catch (error) {
    await app.stop();
    await database.close();
    throw error;
  }
}
