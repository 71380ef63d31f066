// Runs llama-server (the peer) on loopback with the service's context and KV settings, and times its way to ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { ENGINE_DEFAULTS } from '../../src/engine/index.js';
import { treeMemory, type TreeMemory } from './processMemory.js';
import { freePort, probe } from './serviceProcess.js';

const READY_LIMIT_MS = 120_000;
const POLL_INTERVAL_MS = 10;
const STOP_LIMIT_MS = 10_000;

export interface PeerOptions {
  server: string;
  modelPath: string;
  threads: number;
  /** Sequences decoded together (`-np`); each gets the service's per-sequence context. */
  slots: number;
  /** `false` adds `--no-mmap`: the weights read into memory, as the service's default; llama-server maps them. */
  mmap?: boolean;
}

export interface PeerProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The command line, for the report. */
  readonly command: string;
  /** From spawn to the first `GET /health` = 200: model loaded, slots ready. */
  readonly readyMs: number;
  memory(): TreeMemory;
  /** SIGTERM, then SIGKILL when it has not exited within a bounded wait. */
  stop(): Promise<void>;
}

/** Every peer still running; killed if this process exits without stopping them (a thrown error, Ctrl-C). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * The arguments the peer runs with: the service's per-sequence context and Q8_0 K and V with flash attention, the
 * same threads and batch; llama-server splits `-c` evenly across its `-np` slots, so the total is slots × context.
 */
export function peerArguments(options: Omit<PeerOptions, 'server'>, port: number): string[] {
  return [
    '-m', options.modelPath,
    '--host', '127.0.0.1',
    '--port', String(port),
    '-t', String(options.threads),
    '-np', String(options.slots),
    '-c', String(options.slots * ENGINE_DEFAULTS.contextSize),
    '-b', String(ENGINE_DEFAULTS.batchSize),
    '-ctk', ENGINE_DEFAULTS.kvCacheType,
    '-ctv', ENGINE_DEFAULTS.kvCacheType,
    '-fa', 'on',
    ...(options.mmap === false ? ['--no-mmap'] : []),
  ];
}

export async function startPeerProcess(options: PeerOptions): Promise<PeerProcess> {
  const port = await freePort();
  const args = peerArguments(options, port);
  installExitHook();
  const startedAt = performance.now();
  const child = spawn(options.server, args, {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const collect = (chunk: string): void => {
    output = (output + chunk).slice(-8_000);
  };
  child.stdout!.setEncoding('utf8').on('data', collect);
  child.stderr!.setEncoding('utf8').on('data', collect);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ?? `code ${code}`;
      running.delete(child);
      resolve();
    });
  });
  child.once('error', (error) => {
    exit = error.message;
  });
  const stop = async (): Promise<void> => {
    if (exit !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_LIMIT_MS);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  let readyMs: number | undefined;
  try {
    while (readyMs === undefined) {
      if (exit !== undefined) throw new Error(`llama-server exited (${exit}) before it was ready:\n${output}`);
      if (performance.now() - startedAt > READY_LIMIT_MS) throw new Error(`llama-server was not ready within ${READY_LIMIT_MS} ms:\n${output}`);
      if ((await probe(`${url}/health`)) === 200) readyMs = performance.now() - startedAt;
      else await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    child,
    url,
    command: [options.server, ...args].join(' '),
    readyMs,
    memory: () => treeMemory(child.pid!),
    stop,
  };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
