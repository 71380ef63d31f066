// Start-up faults, on the real entry point as a child process: each ends with one clear line and a non-zero exit.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openSqlite, type SqliteDatabase } from '../src/db/index.js';
import { freePort } from './support/postgresServer.js';
import { spawnService, stopProcess, type ProcessExit } from './support/serviceProcess.js';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-startup-');
const leftovers: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  scratch.remove();
});

async function runToExit(env: Record<string, string>): Promise<ProcessExit & { stderr: string; stdout: string }> {
  const service = spawnService({
    DATABASE_PATH: path.join(scratch.dir, `${Math.random().toString(36).slice(2)}.db`),
    ...env,
  });
  leftovers.push(() => stopProcess(service));
  const exit = await service.exited;
  return { ...exit, stderr: service.stderr(), stdout: service.stdout() };
}

/** One line from us, no stack frames, and nothing else of ours on stderr. */
function expectOneClearLine(result: ProcessExit & { stderr: string }, pattern: RegExp): void {
  expect(result.code).toBe(1);
  const ours = result.stderr.split('\n').filter((line) => line.startsWith('all-in-one:'));
  expect(ours).toHaveLength(1);
  expect(ours[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toMatch(/Error: .*\n.*node_modules/);
}

const lockedDatabasePath = path.join(scratch.dir, 'locked.db');
let locker: SqliteDatabase | undefined;
let portHolder: Server | undefined;

describe.concurrent('start-up faults', () => {
  it.each([
    ['a bad configuration value', { PORT: 'eighty' }, /^all-in-one: Invalid configuration: PORT: expected an integer/],
    ['a missing model file', { MODEL: path.join(scratch.dir, 'nowhere.gguf') }, /^all-in-one: Error: .*nowhere\.gguf/],
  ])('%s', async (_, env, pattern) => {
    expectOneClearLine(await runToExit(env), pattern);
  });

  it('a corrupt model file', async () => {
    const corrupt = path.join(scratch.dir, 'corrupt.gguf');
    writeFileSync(corrupt, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(4096, 0xab)]));
    expectOneClearLine(await runToExit({ MODEL: corrupt }), /^all-in-one: Error: .*corrupt\.gguf/);
  });

  it('a database path that cannot be written', async () => {
    const notAFolder = path.join(scratch.dir, 'plain-file');
    writeFileSync(notAFolder, 'not a folder');
    const result = await runToExit({ DATABASE_PATH: path.join(notAFolder, 'data.db') });
    expectOneClearLine(result, /^all-in-one: Error: Database .*plain-file\/data\.db cannot be/);
  });

  it('a database locked by another process', async () => {
    // This test process is the other process: it holds the write lock for as long as the service waits.
    locker = openSqlite({ path: lockedDatabasePath });
    leftovers.push(() => locker?.close());
    locker.sqlite.exec('BEGIN IMMEDIATE');
    leftovers.push(() => void (locker?.sqlite.inTransaction && locker.sqlite.exec('ROLLBACK')));
    const result = await runToExit({ DATABASE_PATH: lockedDatabasePath, DATABASE_BUSY_TIMEOUT_MS: '100' });
    expectOneClearLine(result, /^all-in-one: Error: Database .*locked\.db is locked by another connection/);
  });

  it('a PostgreSQL that refuses the connection, named by host and port, password hidden', async () => {
    const port = await freePort();
    const result = await runToExit({
      DATABASE_URL: `postgres://aio:s3cret-pass@127.0.0.1:${port}/aio`,
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
    });
    expectOneClearLine(
      result,
      new RegExp(`^all-in-one: Error: PostgreSQL at 127\\.0\\.0\\.1:${port}/aio is unavailable: the connection was refused`),
    );
    expect(result.stderr + result.stdout).not.toContain('s3cret-pass');
  });

  it.runIf(inject('postgresAdminUrl'))('a PostgreSQL that refuses the password', async () => {
    const url = new URL(inject('postgresAdminUrl'));
    url.password = 'wrong-pass-123';
    const result = await runToExit({ DATABASE_URL: url.href });
    expectOneClearLine(
      result,
      new RegExp(
        `^all-in-one: Error: PostgreSQL at 127\\.0\\.0\\.1:${url.port}/postgres is unavailable: it refused the password`,
      ),
    );
    expect(result.stderr + result.stdout).not.toContain('wrong-pass-123');
  });

  it('a DATABASE_URL that is not a postgres:// URL, not echoed', async () => {
    const result = await runToExit({ DATABASE_URL: 'mysql://root:hunter2@db/app' });
    expectOneClearLine(
      result,
      /^all-in-one: Invalid configuration: DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(result.stderr).not.toContain('hunter2');
  });

  it('an hf: model whose host never answers (offline, firewalled) names what it tried and what to set instead', async () => {
    // A loopback listener that accepts connections and never answers: what a newcomer behind a firewall gets.
    const blackHole = createServer(() => {});
    const sockets = new Set<import('node:net').Socket>();
    blackHole.on('connection', (socket) => sockets.add(socket));
    leftovers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          blackHole.close(() => resolve());
        }),
    );
    const port = await new Promise<number>((resolve) =>
      blackHole.listen(0, '127.0.0.1', () => resolve((blackHole.address() as { port: number }).port)),
    );
    const startedAt = performance.now();
    const result = await runToExit({
      MODEL: 'hf:nobody/nothing-GGUF/nothing.gguf',
      MODELS_DIR: path.join(scratch.dir, 'offline-models'),
      HF_ENDPOINT: `http://127.0.0.1:${port}/`,
      MODEL_CONNECT_TIMEOUT_MS: '1500',
    });
    // The connect timeout, plus start-up and exit; not the minutes node-llama-cpp's downloader would retry for.
    expect(performance.now() - startedAt).toBeLessThan(30_000);
    expectOneClearLine(
      result,
      new RegExp(
        String.raw`^all-in-one: Error: Could not find or download MODEL=hf:nobody/nothing-GGUF/nothing\.gguf ` +
          String.raw`\(looked in .*offline-models\): no answer from 127\.0\.0\.1:${port} within 1500 ms\. ` +
          String.raw`Set MODEL to a local \.gguf file \(MODEL=/path/to/.*\.gguf\) or, offline, to a synthetic model \(MODEL=synthetic:tiny\)\.$`,
      ),
    );
    // No spinner or cursor control: node-llama-cpp's "Gathering information" animation once swallowed the line.
    expect(result.stderr + result.stdout).not.toMatch(/Gathering information|\u001b\[/);
  });

  it('a TASKS_FILE task whose instructions cannot fit CONTEXT_SIZE with room for a text', async () => {
    // Twenty labels with descriptions of 2,000 characters: tens of thousands of tokens, in a 2,048-token context.
    const description = 'what this label means and when to choose it, '.repeat(44).trim();
    const labels = Array.from({ length: 20 }, (_, index) => ({
      name: `label_${index}`,
      description: { en: description, zh: description },
      spellings: { en: [`l${index}`], zh: [`标${index}`] },
    }));
    const file = path.join(scratch.dir, 'long-tasks.json');
    const task = { kind: 'classify', name: 'long', description: 'd', instruction: { en: 'Choose.', zh: '选择。' }, labels };
    writeFileSync(file, JSON.stringify({ tasks: [task] }));
    expectOneClearLine(
      await runToExit({ TASKS_FILE: file }),
      /^all-in-one: Error: .*long-tasks\.json: task "long": instruction\.en: .* tokens, leaving less than 64 for a text in the 2048-token context; .*raise CONTEXT_SIZE$/,
    );
  });

  it('a port already in use', async () => {
    portHolder = createServer();
    leftovers.push(() => new Promise<void>((resolve) => portHolder!.close(() => resolve())));
    const port = await new Promise<number>((resolve) =>
      portHolder!.listen(0, '127.0.0.1', () => resolve((portHolder!.address() as { port: number }).port)),
    );
    const result = await runToExit({ PORT: String(port) });
    expectOneClearLine(result, new RegExp(`^all-in-one: Error: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});
