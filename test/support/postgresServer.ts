// A throw-away PostgreSQL server for tests and benchmarks: Debian's binaries, a temp data folder, loopback only.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const DEBIAN_ROOT = '/usr/lib/postgresql';
const START_TIMEOUT_MS = 30_000;

export interface PostgresServer {
  /** A superuser URL on 127.0.0.1, with the server's random password (TCP connections must authenticate). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Where Debian's server binaries are (newest major first), or undefined when the `postgresql` package is missing. */
export function findPostgresBin(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_ROOT)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return majors.map((major) => path.join(DEBIAN_ROOT, major, 'bin')).find((bin) => existsSync(path.join(bin, 'postgres')));
}

/** What to tell a developer whose machine cannot run the PostgreSQL suites. */
export const POSTGRES_HINT =
  "PostgreSQL runs skipped: install Debian's server (sudo apt-get install postgresql) or set TEST_DATABASE_URL to a superuser URL";

/**
 * initdb into a temp folder and start the server on a free loopback port. PostgreSQL refuses to run as root, so as
 * root it runs as the `postgres` user the Debian package creates. Durability is off (fsync): the data is thrown away.
 */
export async function startPostgres(bin: string): Promise<PostgresServer> {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aio-pg-'));
  const dataDir = path.join(dir, 'data');
  if (asRoot) chownSync(dir, ...postgresIds());
  // setpriv execs the server itself (no process in between), so signals reach it directly.
  const as = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', command, ...args]] : [command, args];
  // Password authentication over TCP, as a real server has it, so a wrong password is refused as it would be.
  const password = randomBytes(12).toString('hex');
  const passwordFile = path.join(dir, 'password');
  writeFileSync(passwordFile, password);
  if (asRoot) chownSync(passwordFile, ...postgresIds());
  await run(
    ...as(path.join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '-E',
      'UTF8',
      '--no-sync',
    ]),
  );
  const port = await freePort();
  const [command, args] = as(path.join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ]);
  const server = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  try {
    await untilAccepting(url, server, () => log);
  } catch (error) {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    stop: async () => {
      await stopProcess(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database on the server at `adminUrl`; `drop` removes it (closing whatever still uses it). */
export async function createTestDatabase(
  adminUrl: string,
  prefix = 'aio_test',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  await withAdmin(adminUrl, (client) => client.query(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () =>
      withAdmin(adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

/** Runs `work` on a connection of its own to `adminUrl`, closed afterwards. */
export async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// The Debian package's postgres user.
function postgresIds(): [number, number] {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return [id('-u'), id('-g')];
}

async function untilAccepting(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms: ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, stop at once.
    child.kill('SIGINT');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
