// `analyze-file` without --url: the whole service from the configuration, in this process, on a loopback port of its
// own, so the command talks to it exactly as it talks to a remote one (GraphQL and the results route over HTTP).
import type { AppConfig } from '../config.js';
import { openService } from '../createService.js';
import { createShutdown } from '../shutdown.js';

export interface InProcessService {
  /** `http://127.0.0.1:<port>`: loopback only, a port picked by the system. */
  url: string;
  /** The first of API_KEYS when set: the jobs are that key's, as if made through a server with the same settings. */
  apiKey?: string;
  /** False with JOB_WORKER=false or JOB_SEQUENCES=0: another replica sharing the database must run the items. */
  runsItems: boolean;
  /** Stops the job runner (its claimed items go back at once), the engine, the port and the database. */
  close(): Promise<void>;
}

/** Loopback, whatever HOST says: the service exists for this command only. */
const LOOPBACK = '127.0.0.1';

export async function openInProcessService(config: AppConfig): Promise<InProcessService> {
  // Warnings and errors only, on stderr: stdout is the command's own, and the progress bar is the news.
  const settings: AppConfig = { ...config, logLevel: 'warn', http: { ...config.http, host: LOOPBACK } };
  const service = await openService(settings, { logDestination: process.stderr, processMetrics: false });
  const shutdown = createShutdown({
    app: service.app,
    database: service.repository,
    engineHolder: service.engine,
    services: service.services,
    logger: service.logger,
    jobRunner: service.jobRunner,
  });
  try {
    service.engine.set(await service.loadEngine());
    service.jobRunner?.start();
    const address = await service.app.start(0, LOOPBACK);
    const apiKey = settings.http.apiKeys[0];
    return {
      url: `http://${LOOPBACK}:${address.port}`,
      runsItems: service.jobRunner !== undefined,
      ...(apiKey === undefined ? {} : { apiKey }),
      close: () => shutdown('analyze-file finished'),
    };
  } catch (error) {
    await shutdown('analyze-file could not start its service');
    throw error;
  }
}
