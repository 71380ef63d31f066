// The shipped deploy/nginx.conf, run by Debian's nginx on loopback in front of the given replicas (for tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './postgresServer.js';

const SHIPPED_CONFIG = fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url));
const START_TIMEOUT_MS = 15_000;

export interface NginxServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  stop(): Promise<void>;
}

/** Debian's nginx binary, or undefined when the `nginx` package is missing. */
export function findNginx(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => existsSync(candidate));
}

export const NGINX_HINT = "the multi-replica test needs Debian's nginx (sudo apt-get install nginx)";

/**
 * The shipped file with only what a test must change: the upstream servers, a loopback listen port, and the
 * files nginx writes (pid, logs, temp folders) in a scratch folder instead of /var.
 */
export function testNginxConfig(upstreams: readonly string[], port: number, dir: string): string {
  const shipped = readFileSync(SHIPPED_CONFIG, 'utf8');
  const servers = /^( *)server 127\.0\.0\.1:\d+ (.*);\n/gm;
  const template = [...shipped.matchAll(servers)];
  if (template.length === 0) throw new Error('deploy/nginx.conf has no upstream server lines to replace');
  const [, indent, parameters] = template[0]!;
  const ourServers = upstreams.map((address) => `${indent}server ${address} ${parameters};\n`).join('');
  let replaced = false;
  const config = shipped
    .replace(servers, () => (replaced ? '' : ((replaced = true), ourServers)))
    .replace(/^( *)listen \d+;/m, `$1listen 127.0.0.1:${port};`)
    .replace(
      /^http \{\n/m,
      [
        'http {',
        `    access_log ${dir}/access.log;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `    ${kind}_temp_path ${dir}/${kind};`),
        '',
      ].join('\n'),
    );
  const main = [`pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`, 'daemon off;'];
  // As root, nginx's workers would switch to `nobody`, who cannot write the scratch folder.
  if (process.getuid?.() === 0) main.push('user root;');
  return `${main.join('\n')}\n${config}`;
}

export async function startNginx(bin: string, upstreams: readonly string[]): Promise<NginxServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aio-nginx-'));
  for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, kind));
  const port = await freePort();
  const configPath = path.join(dir, 'nginx.conf');
  writeFileSync(configPath, testNginxConfig(upstreams, port, dir));
  const child = spawn(bin, ['-p', dir, '-c', configPath, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  try {
    await untilListening(url, child, () => stderr + readLog(dir));
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    stop: async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  const file = path.join(dir, 'error.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function untilListening(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log()}`);
    try {
      // Any answer from nginx will do (the replicas may still be loading).
      await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not listen within ${START_TIMEOUT_MS} ms: ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    // SIGTERM is nginx's fast shutdown.
    child.kill('SIGTERM');
  });
}
