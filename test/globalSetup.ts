// Once per test run: generates the tiny synthetic model, and starts a throw-away PostgreSQL for the dialect suites.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureSyntheticModel } from '../src/engine/synth/index.js';
import { findNginx, NGINX_HINT } from './support/nginxServer.js';
import { findPostgresBin, POSTGRES_HINT, startPostgres, type PostgresServer } from './support/postgresServer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder holding `synthetic-tiny-*.gguf`, so `MODEL=synthetic:tiny` resolves without regenerating. */
    modelsDir: string;
    /** Path of the tiny synthetic model. */
    tinyModelPath: string;
    /** A superuser URL of the run's PostgreSQL, or '' when there is none (then the suites say how to get one). */
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const modelsDir = path.resolve('.tmp/test-models');
  const tinyModelPath = await ensureSyntheticModel({ shape: 'tiny', modelsDir });
  project.provide('modelsDir', modelsDir);
  project.provide('tinyModelPath', tinyModelPath);

  let server: PostgresServer | undefined;
  let adminUrl = process.env['TEST_DATABASE_URL'] ?? '';
  if (!adminUrl) {
    const bin = findPostgresBin();
    if (bin) {
      server = await startPostgres(bin);
      adminUrl = server.url;
    } else if (process.env['CI']) {
      // In CI the PostgreSQL runs are part of the promise: a missing server is a failure, not a skip.
      throw new Error(`CI=true but no PostgreSQL: ${POSTGRES_HINT}`);
    } else {
      console.warn(POSTGRES_HINT);
    }
  }
  project.provide('postgresAdminUrl', adminUrl);
  if (!findNginx()) {
    if (process.env['CI']) throw new Error(`CI=true but no nginx: ${NGINX_HINT}`);
    console.warn(`${NGINX_HINT}; without it that test does not run`);
  }
  return async () => {
    await server?.stop();
  };
}
