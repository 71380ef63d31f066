// Runs the real service (`src/main.ts`) as a child process on loopback, as an operator would, for fault tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Bounds a start that never becomes ready, below the test timeout so the failure shows the process output. */
const START_LIMIT_MS = 45_000;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` once ready. */
  readonly url: string;
  readonly wsUrl: string;
  readonly exited: Promise<ProcessExit>;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines printed so far, parsed. */
  logs(): { msg?: string; [key: string]: unknown }[];
  /** Resident and peak resident memory of the process, from /proc (Linux). */
  memory(): { rssBytes: number; peakRssBytes: number };
}

/** Environment of a service on the tiny test model; `env` adds or overrides variables. */
export function serviceEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    MODEL: inject('tinyModelPath'),
    MODELS_DIR: inject('modelsDir'),
    THREADS: '1',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    CONTEXT_SIZE: '2048',
    ...env,
  };
}

/** How to run it: the TypeScript sources through tsx (the default), or a built start file (`npm start`'s entry). */
export interface SpawnOptions {
  startFile?: string;
}

/** Spawns the service without waiting for it; for start-up faults, which end the process. */
export function spawnService(env: Record<string, string>, options: SpawnOptions = {}): {
  child: ChildProcess;
  exited: Promise<ProcessExit>;
  stdout(): string;
  stderr(): string;
} {
  const args = options.startFile ? [options.startFile] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: serviceEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/**
 * Spawns the service and resolves once it logs `ready` (model loaded); rejects if it exits or hangs first.
 * It reads the `ready` line from the JSON log, so LOG_LEVEL must stay at `info` (the default here).
 */
export async function startService(env: Record<string, string>, options: SpawnOptions = {}): Promise<ServiceProcess> {
  if (env['LOG_LEVEL'] && env['LOG_LEVEL'] !== 'info') throw new Error('startService needs LOG_LEVEL=info to see `ready`.');
  const spawned = spawnService(env, options);
  const logs = () => parseLogLines(spawned.stdout());
  const ready = await new Promise<{ url: string } | undefined>((resolve) => {
    const limit = setTimeout(() => resolve(undefined), START_LIMIT_MS);
    const check = (): void => {
      const line = logs().find((entry) => entry.msg === 'ready');
      if (!line) return;
      clearTimeout(limit);
      spawned.child.stdout!.off('data', check);
      resolve({ url: String(line['url']) });
    };
    spawned.child.stdout!.on('data', check);
    void spawned.exited.then(() => {
      clearTimeout(limit);
      resolve(undefined);
    });
  });
  if (!ready) {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    throw new Error(`The service did not become ready.\nstdout:\n${spawned.stdout()}\nstderr:\n${spawned.stderr()}`);
  }
  const pid = spawned.child.pid!;
  return {
    ...spawned,
    url: ready.url,
    wsUrl: `${ready.url.replace(/^http/, 'ws')}/graphql`,
    logs,
    memory: () => readMemory(pid),
  };
}

/** Kills the process if it is still running and waits for it; for afterEach/afterAll. */
export async function stopProcess(service: { child: ChildProcess; exited: Promise<ProcessExit> }): Promise<void> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  await service.exited;
}

function parseLogLines(text: string): { msg?: string; [key: string]: unknown }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string }];
      } catch {
        return [];
      }
    });
}

function readMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssBytes: kilobytes('VmRSS') * 1024, peakRssBytes: kilobytes('VmHWM') * 1024 };
}
