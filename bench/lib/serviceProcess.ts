// Runs the real service (`src/main.ts`) as a child process on loopback, and times its way to ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleService } from './bundle.js';
import { createServer } from 'node:net';
import { PROJECT_ROOT } from './paths.js';
import { descendantsOf, processStat, treeMemory, type TreeMemory } from './processMemory.js';

/** A start that never becomes ready is a failure, not a wait forever. */
const READY_LIMIT_MS = 180_000;
const POLL_INTERVAL_MS = 10;
const STOP_LIMIT_MS = 20_000;

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly wsUrl: string;
  /** From spawn to the first `GET /healthz` answered: the process runs and listens. */
  readonly listeningMs: number;
  /** From spawn to the first `GET /readyz` = 200: migrations applied and model loaded. */
  readonly readyMs: number;
  memory(): TreeMemory;
  /** SIGTERM, then waits for the exit (SIGKILL if it takes too long). */
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  /**
   * How to run it: `bundle` (the default) is the compiled JavaScript that `npm start` runs, started directly; `npm`
   * is `npm start` itself (its own npm and shell processes included); `tsx` is the TypeScript sources through tsx.
   */
  via?: 'bundle' | 'npm' | 'tsx';
  /** How long the start may take before it counts as failed (default 3 minutes; a start with many tasks takes longer). */
  readyLimitMs?: number;
}

/** Starts the service with these environment variables (added to a minimal PATH/HOME environment). */
export async function startServiceProcess(
  env: Record<string, string>,
  options: StartServiceOptions = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const startedAt = performance.now();
  const via = options.via ?? 'bundle';
  const readyLimitMs = options.readyLimitMs ?? READY_LIMIT_MS;
  const [command, args] =
    via === 'npm'
      ? ['npm', ['start', '--silent']]
      : [
          process.execPath,
          via === 'tsx' ? ['--import', 'tsx', 'src/main.ts'] : [...npmStartNodeFlags(), await serviceBundle()],
        ];
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      PLAYGROUND: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: string): void => {
    output = (output + chunk).slice(-8_000);
  };
  child.stdout!.setEncoding('utf8').on('data', collect);
  child.stderr!.setEncoding('utf8').on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  let listeningMs: number | undefined;
  let readyMs: number | undefined;
  while (readyMs === undefined) {
    if (exitCode !== undefined) throw new Error(`The service exited (code ${exitCode}) before it was ready:\n${output}`);
    const elapsed = performance.now() - startedAt;
    if (elapsed > readyLimitMs) {
      signalAll([child.pid!, ...descendantsOf(child.pid!)], 'SIGKILL');
      throw new Error(`The service was not ready within ${readyLimitMs} ms:\n${output}`);
    }
    const status = await probe(`${url}/readyz`);
    if (status !== undefined) listeningMs ??= performance.now() - startedAt;
    if (status === 200) readyMs = performance.now() - startedAt;
    else await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }

  return {
    child,
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    listeningMs: listeningMs ?? readyMs,
    readyMs,
    memory: () => treeMemory(child.pid!),
    stop: async () => {
      if (exitCode !== undefined) return;
      // Via npm, the service is npm's grandchild, and npm exits on SIGTERM without passing it on: the whole tree
      // gets it, and the stop waits for every process of it.
      const tree = [child.pid!, ...descendantsOf(child.pid!)];
      signalAll(tree, 'SIGTERM');
      const timer = setTimeout(() => signalAll(tree, 'SIGKILL'), STOP_LIMIT_MS);
      await Promise.all([exited, ...tree.slice(1).map(gone)]);
      clearTimeout(timer);
    },
  };
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // It has ended already.
    }
  }
}

/** Resolves once process `pid` has ended: its /proc entry is gone, or it is a zombie nobody has reaped yet. */
async function gone(pid: number): Promise<void> {
  const running = (): boolean => (processStat(pid)?.state ?? 'Z') !== 'Z';
  while (running()) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
}

/** The Node flags `npm start` gives the bundle (package.json's start script), so the benchmark runs what users run. */
function npmStartNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = manifest.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`npm start no longer runs node directly: ${manifest.scripts.start}`);
  return words.slice(1, -1).filter((word) => word.startsWith('--'));
}

let bundled: Promise<string> | undefined;

/** The service compiled as `npm start` compiles it, once per benchmark process. */
function serviceBundle(): Promise<string> {
  return (bundled ??= bundleService());
}

/** The status of a GET, or undefined when nothing answers yet. */
export async function probe(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/** A port nothing listens on right now (the OS picks it; a race with another process is unlikely on loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
