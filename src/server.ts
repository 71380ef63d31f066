// The service's life: listen, load the model, print the banner, stop cleanly on signals (src/createService.ts builds it).
import { CodedError } from './CodedError.js';
import type { AppConfig } from './config.js';
import { openService } from './createService.js';
import { formatStartupBanner } from './observability/startupBanner.js';
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
  const service = await openService(config);
  const { app, logger: log, repository: database, engine: engineHolder, services } = service;
  const { host, port } = config.http;
  let address;
  try {
    address = await app.start(port, host);
  } catch (error) {
    await database.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ListenError({ message: `cannot listen on ${host}:${port}: ${reason}`, cause: error });
  }
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url, playground: `${url}/graphql`, database: database.location }, 'listening; loading the model');

  const shutdown = createShutdown({ app, database, engineHolder, services, logger: log, jobRunner: service.jobRunner });
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
    const engine = await service.loadEngine();
    if (stopping) return void (await engine.dispose());
    engineHolder.set(engine);
    service.jobRunner?.start();
    const status = engine.status();
    const { model, threads, contextSize } = status;
    const auth = config.http.apiKeys.length > 0;
    log.info(
      {
        url,
        playground: config.http.playground ? `${url}/graphql` : null,
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
        jobWorker: service.jobRunner ? 'on' : 'off',
      },
      'ready',
    );
    if (!auth) log.warn({ url }, 'API_KEYS is not set: anyone who can reach this address may call the API');
    if (config.logLevel !== 'silent') {
      const { playground, metricsAuth } = config.http;
      const banner = { url, playground, metricsAuth, model, engine: status, database: database.location, auth };
      process.stderr.write(formatStartupBanner(banner));
    }
  } catch (error) {
    await app.stop();
    await database.close();
    throw error;
  }
}
