// The one assembly of the service: what a caller passes (repository, engine) is used; what it does not is built from
// the configuration — the database opened, the model loaded with its jobs counted and its lines logged.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createService, openService, type Service } from '../src/createService.js';
import { SqliteRepository } from '../src/db/index.js';
import type { Engine } from '../src/engine/index.js';
import { METRIC_PREFIX } from '../src/observability/metrics.js';
import { createScratchDir, loadTestEngine, TEST_THREADS } from './support/testApp.js';

const scratch = createScratchDir('aio-create-service-');
let engine: Engine;
const opened: Service[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
});

afterEach(async () => {
  for (const service of opened.splice(0)) {
    await service.app.stop();
    // The given engine stays the suite's; one the service loaded is its own.
    const own = service.engine.close();
    if (own !== engine) await own?.dispose();
    await service.repository.close();
  }
});

afterAll(async () => {
  await engine.dispose();
  scratch.remove();
});

const SENTIMENT = '{ sentiment(text: "The view from the hill was lovely") { label } }';

async function listen(service: Service): Promise<string> {
  opened.push(service);
  const { port } = await service.app.start(0, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

interface Body {
  data?: any;
  errors?: { extensions?: { code?: string } }[];
}

async function query(url: string, document: string): Promise<Body> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: document }),
  });
  return (await response.json()) as Body;
}

describe('createService', () => {
  it('serves at once on the repository and the engine it is given, and never opens the configured database', async () => {
    const configuredPath = path.join(scratch.dir, 'configured.db');
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_PATH: configuredPath });
    const repository = SqliteRepository.open({ path: path.join(scratch.dir, 'given.db') });
    const service = createService(config, { repository, engine, processMetrics: false });
    const url = await listen(service);

    expect(service.repository).toBe(repository);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const body = await query(url, SENTIMENT);
    expect(body.errors).toBeUndefined();
    expect(['POSITIVE', 'NEGATIVE', 'NEUTRAL']).toContain(body.data.sentiment.label);
    expect(existsSync(configuredPath)).toBe(false);
  });
});

describe('openService', () => {
  it('opens the configured database, is not ready until the loaded engine is set, and counts that engine’s jobs', async () => {
    const lines: Record<string, unknown>[] = [];
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const databasePath = path.join(scratch.dir, 'opened.db');
    const config = loadConfig({
      LOG_LEVEL: 'info',
      REPLICA_NAME: 'replica-a',
      DATABASE_PATH: databasePath,
      MODEL: inject('tinyModelPath'),
      MODELS_DIR: inject('modelsDir'),
      TASK_STATES_DIR: 'off',
      THREADS: String(TEST_THREADS),
      CONTEXT_SIZE: '2048',
    });
    const service = await openService(config, { logDestination, processMetrics: false });
    const url = await listen(service);

    expect(service.repository.location).toContain(databasePath);
    expect(existsSync(databasePath)).toBe(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await query(url, SENTIMENT)).errors?.[0]?.extensions?.code).toBe('MODEL_UNAVAILABLE');

    service.engine.set(await service.loadEngine());
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await query(url, SENTIMENT)).errors).toBeUndefined();

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const jobs = metrics
      .split('\n')
      .find((line) => line.startsWith(`${METRIC_PREFIX}engine_job_duration_seconds_count{`))
      ?.match(/replica="replica-a".* (\d+)$/);
    expect(Number(jobs?.[1])).toBeGreaterThan(0);
    // The model's warm-up goes to the service's log, each line naming the replica.
    const warmUp = lines.filter((line) => String(line.msg).startsWith('warming up task instructions'));
    expect(warmUp.length).toBeGreaterThan(0);
    expect(warmUp.every((line) => line.replica === 'replica-a')).toBe(true);
  });
});
