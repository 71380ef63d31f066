// Graceful shutdown that loses nothing: readiness and new work first, running turns next, sockets and database last.
import type { App } from './app.js';
import type { Repository } from './db/index.js';
import type { Logger } from './logger.js';
import type { EngineHolder } from './service/EngineHolder.js';
import type { Services } from './service/createServices.js';
import type { JobRunner } from './service/JobRunner.js';

export interface ShutdownParts {
  app: App;
  database: Repository;
  engineHolder: EngineHolder;
  services: Services;
  logger: Logger;
  /** This process's analysis job runner, if it runs one. */
  jobRunner?: JobRunner | undefined;
}

/** Returns `shutdown(reason)`: idempotent; every call resolves when the database is closed. */
export function createShutdown(parts: ShutdownParts): (reason: string) => Promise<void> {
  const { app, database, engineHolder, services, logger, jobRunner } = parts;
  let running: Promise<void> | undefined;

  const run = async (reason: string): Promise<void> => {
    // Synchronously, before anything awaits: /readyz answers 503 and engine work gets MODEL_UNAVAILABLE.
    const engine = engineHolder.close();
    logger.info({ reason }, 'shutting down: not ready, refusing new work');
    // Running jobs stop at their next token; their turns store the partial replies (ABORTED) and end their streams.
    const turnsEnded = services.chat.settle();
    // Job items in progress stop too; outcomes already made are stored, the other items given back for any replica.
    if (jobRunner) {
      await jobRunner.stop();
      logger.info('analysis job items stopped and given back');
    }
    await engine?.dispose();
    const stoppedTurns = await turnsEnded;
    logger.info({ stoppedTurns }, 'running turns stopped, partial replies stored');
    // WebSockets close with 1001 (going away) after their streams' last messages; then HTTP stops.
    await app.stop();
    await database.close();
    logger.info('stopped');
  };

  return (reason) => (running ??= run(reason));
}
