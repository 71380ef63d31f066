// Whether the service can serve (the readiness probe) and what the engine is doing (the `engine` query).
import type { Repository } from '../db/index.js';
import type { EngineStatus } from '../engine/index.js';
import type { EngineHolder } from './EngineHolder.js';

export interface HealthServiceOptions {
  repository: Repository;
  engine: EngineHolder;
}

export type EngineStatusView = EngineStatus & { ready: boolean };

export interface HealthService {
  /** Why the service cannot serve requests now (model loading or gone, database unusable), or undefined. */
  notReadyReason(): Promise<string | undefined>;
  engineStatus(): EngineStatusView;
}

export function createHealthService({ repository, engine }: HealthServiceOptions): HealthService {
  return {
    notReadyReason: async () => {
      if (!engine.ready) return 'the model is not loaded';
      // The repository's reasons name no path or host: probes are open to anyone.
      const problem = await repository.problem();
      if (problem) return `the database cannot be written: ${problem}`;
      return undefined;
    },
    engineStatus: () => ({ ...engine.get().status(), ready: engine.ready }),
  };
}
