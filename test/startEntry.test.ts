// `npm start`'s entry (dist/service/start.cjs, from src/start.cts): it sizes libuv's thread pool before Node starts it,
// so every decode runs on the same pool thread, and the service says which pool it has.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildInputsUnchanged } from '../scripts/buildInputs.mjs';
import { bundleService } from '../scripts/bundleService.js';
import { BINARY_TESTS_FOLDER } from '../src/engine/binaryTestVerdicts.js';
import { startService, stopProcess, type ServiceProcess } from './support/serviceProcess.js';
import { createScratchDir } from './support/testApp.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Two folders below the root, like dist/service/, so the bundle finds migrations/ and web/ the same way.
const BUNDLE = path.join(ROOT, 'dist', `test-start-${process.pid}`, 'main.mjs');

describe("npm start's entry", () => {
  let startFile: string;
  const running: ServiceProcess[] = [];
  const scratch = createScratchDir('aio-start-');

  afterAll(() => {
    scratch.remove();
    rmSync(path.dirname(BUNDLE), { recursive: true, force: true });
  });

  beforeAll(async () => {
    startFile = await bundleService(BUNDLE);
  }, 60_000);

  afterEach(async () => {
    for (const service of running.splice(0)) await stopProcess(service);
  });

  async function start(env: Record<string, string>): Promise<{ poolSize: number; threads: number }> {
    const database = path.join(scratch.dir, `start-${running.length}.db`);
    const service = await startService({ DATABASE_PATH: database, ...env }, { startFile });
    running.push(service);
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ engine { threadPoolSize } }' }),
    });
    const body = (await response.json()) as { data: { engine: { threadPoolSize: number } } };
    return { poolSize: body.data.engine.threadPoolSize, threads: readdirSync(`/proc/${service.child.pid}/task`).length };
  }

  it('runs decodes on a pool of one thread unless UV_THREADPOOL_SIZE says otherwise, and reports the pool', async () => {
    const byDefault = await start({});
    const four = await start({ UV_THREADPOOL_SIZE: '4' });
    expect(byDefault.poolSize).toBe(1);
    expect(four.poolSize).toBe(4);
    // The same service after the same work: the only difference is the pool, so the setting took effect before
    // anything started the pool (Node would otherwise have made its default four).
    expect(four.threads - byDefault.threads).toBe(3);
  }, 120_000);

  it('serves the web page, the GraphiQL page and a chat stream over WebSocket from the packages compiled in', async () => {
    // Most tests run the sources; this runs what npm start runs: graphql-ws and ws compiled into the bundle, the
    // GraphiQL page's package imported from node_modules on its first request.
    const database = path.join(scratch.dir, 'surfaces.db');
    const service = await startService({ DATABASE_PATH: database }, { startFile });
    running.push(service);
    const page = await fetch(`${service.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const playground = await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(playground.status).toBe(200);
    expect(await playground.text()).toContain('GraphiQL');

    const client = createClient({ url: service.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const events: string[] = [];
      for await (const result of client.iterate({
        query: `subscription { chatStream(input: { message: "Hello there", maxTokens: 3, temperature: 0, locale: EN }) { __typename } }`,
      })) {
        events.push((result.data as { chatStream: { __typename: string } }).chatStream.__typename);
      }
      expect(events[0]).toBe('ChatStarted');
      expect(events).toContain('ChatToken');
      expect(events.at(-1)).toBe('ChatDone');
    } finally {
      await client.dispose();
    }
  }, 120_000);

  it('runs node-llama-cpp compiled in, its binary test still forked from its installed module', async () => {
    // node-llama-cpp tests a prebuilt binary in a child process that runs its own module file, found from
    // import.meta.url: compiled in without keeping its installed location, it would warn that it cannot and load the
    // binary untested. A fresh TASK_STATES_DIR holds no verdict of an earlier test, so this start tests the binary.
    const manifest = JSON.parse(readFileSync(path.join(path.dirname(BUNDLE), 'build-inputs.json'), 'utf8')) as {
      inputs: { file: string }[];
    };
    const files = manifest.inputs.map((input) => path.relative(ROOT, input.file));
    expect(files).toContain('node_modules/node-llama-cpp/dist/index.js');
    const states = path.join(scratch.dir, 'fresh-states');
    const database = path.join(scratch.dir, 'fresh-states.db');
    const service = await startService({ DATABASE_PATH: database, TASK_STATES_DIR: states, LLAMA_RUNTIME: 'prebuilt' }, { startFile });
    running.push(service);
    expect(readdirSync(path.join(states, BINARY_TESTS_FOLDER))).toHaveLength(1);
    expect(service.stderr()).not.toContain('is not independent');
    expect(service.stdout()).not.toContain('is not independent');
  }, 120_000);

  it("lets npm start's prestart find the bundle up to date, naming what it was built from", async () => {
    const dir = path.dirname(BUNDLE);
    expect(await buildInputsUnchanged(dir)).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'build-inputs.json'), 'utf8')) as { inputs: { file: string }[] };
    const files = manifest.inputs.map((input) => path.relative(ROOT, input.file));
    // Our sources, the packages compiled in, and how the bundle is made.
    expect(files).toEqual(
      expect.arrayContaining(['src/main.ts', 'src/start.cts', 'scripts/bundleService.ts', 'scripts/keepInstalledLocation.ts']),
    );
    expect(files.some((file) => file.startsWith('node_modules/graphql/'))).toBe(true);
  }, 60_000);

  it('keeps only the chunks of the latest build beside the bundle', async () => {
    const dir = path.dirname(BUNDLE);
    const built = readdirSync(dir).sort();
    // What an earlier build of other code leaves: a chunk under another hash, and its source map.
    for (const file of ['chunk-AAAAAAAA.mjs', 'chunk-AAAAAAAA.mjs.map']) writeFileSync(path.join(dir, file), '');
    await bundleService(BUNDLE);
    expect(readdirSync(dir).sort()).toEqual(built);
    expect(built.filter((file) => file.startsWith('chunk-')).length).toBeGreaterThan(0);
  }, 60_000);
});
