// The one place that assembles the service from the configuration: repository, engine, metrics, services and the app.
import type { DestinationStream } from 'pino';
import { createApp, type App } from './app.js';
import { openOptionsOf, type AppConfig } from './config.js';
import { openRepository, type OpenRepositoryOptions, type Repository } from './db/index.js';
import { Engine } from './engine/index.js';
import { engineOptionsOf } from './engineOptions.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { logWarmUpProgress } from './observability/warmUpLog.js';
import { EngineHolder } from './service/EngineHolder.js';
import { createServices, type Services } from './service/createServices.js';
import { JobEvents } from './service/JobEvents.js';
import { JobRunner } from './service/JobRunner.js';

/** What a caller brings instead of what the configuration would make; tests and benchmarks pass their own. */
export interface ServiceOverrides {
  /** An open repository of either dialect, used instead of opening the configured database. */
  repository?: Repository;
  /** An already-loaded engine, serving at once; without it the API answers MODEL_UNAVAILABLE until one is set. */
  engine?: Engine;
  /** Where the JSON log lines go; default stdout. */
  logDestination?: DestinationStream;
  /** Node's process metrics in `/metrics` (default true); off where several services share one process. */
  processMetrics?: boolean;
}

export interface Service {
  config: AppConfig;
  logger: Logger;
  repository: Repository;
  /** The engine once loaded (or given); empty while the model loads and from the start of a shutdown. */
  engine: EngineHolder;
  metrics: Metrics;
  services: Services;
  app: App;
  /**
   * Runs analysis jobs' items in this process once started (the server starts it when the engine is ready, and stops
   * it before disposing the engine); undefined with JOB_WORKER=false or JOB_SEQUENCES=0.
   */
  jobRunner: JobRunner | undefined;
  /**
   * Loads the configured model, its warnings and warm-up logged and its jobs counted in the metrics. The caller sets it
   * in `engine` (the server does not when a signal came while it loaded).
   */
  loadEngine(): Promise<Engine>;
}

/** Opens (and migrates) the configured database unless `overrides.repository` is given, then assembles the service. */
export async function openService(config: AppConfig, overrides: ServiceOverrides = {}): Promise<Service> {
  const logger = loggerOf(config, overrides.logDestination);
  const repository =
    overrides.repository ?? (await openRepository(withWarningsLogged(openOptionsOf(config.database), logger)));
  return assemble(config, { ...overrides, repository }, logger);
}

/** Assembles the service on an open repository: synchronous, for callers that opened it themselves (tests, bench). */
export function createService(config: AppConfig, overrides: OnRepository): Service {
  return assemble(config, overrides, loggerOf(config, overrides.logDestination));
}

type OnRepository = ServiceOverrides & { repository: Repository };

function assemble(config: AppConfig, overrides: OnRepository, logger: Logger): Service {
  const { repository } = overrides;
  const engine = new EngineHolder();
  if (overrides.engine) engine.set(overrides.engine);
  const metrics = createMetrics({
    engineStatus: () => engine.current?.status(),
    processMetrics: overrides.processMetrics,
    ...(config.replicaName === undefined ? {} : { replica: config.replicaName }),
  });
  const jobEvents = new JobEvents();
  const services = createServices({
    repository,
    engine,
    onSentiment: metrics.recordSentiment,
    jobEvents,
    ...config.service,
    taskCatalog: config.engine.tasks,
  });
  // With JOB_SEQUENCES=0 the engine refuses background work, so this replica claims no items (others run them).
  const jobRunner =
    config.jobWorker.enabled && config.engine.backgroundSequences > 0
      ? new JobRunner({
          repository,
          engine,
          jobEvents,
          logger,
          slots: config.engine.backgroundSequences,
          leaseMs: config.jobWorker.leaseMs,
          onSentiment: metrics.recordSentiment,
        })
      : undefined;
  const app = createApp({ services, config: config.http, logger, metrics });
  const loadEngine = (): Promise<Engine> =>
    Engine.load({
      ...engineOptionsOf(config),
      onWarning: (message) => logger.warn(message),
      onWarmUp: logWarmUpProgress(logger),
      onJobFinished: metrics.recordJob,
    });
  return { config, logger, repository, engine, metrics, services, app, jobRunner, loadEngine };
}

/** Every line names the replica, when there is one, so one log store can tell the instances apart. */
function loggerOf(config: AppConfig, destination: DestinationStream | undefined): Logger {
  const fields: Record<string, string> = config.replicaName === undefined ? {} : { replica: config.replicaName };
  return createLogger(config.logLevel, fields, destination);
}

function withWarningsLogged(options: OpenRepositoryOptions, logger: Logger): OpenRepositoryOptions {
  if (options.dialect !== 'sqlite') return options;
  return { ...options, onWarning: (message) => logger.warn({ database: options.path }, message) };
}
