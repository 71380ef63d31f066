// Idle WebSockets cannot take the service down: the real process, API_KEYS unset (the exposed default), is sent
// far more graphql-ws connections than it allows — initialized and left idle — from one address and from many,
// while /healthz is asked on fresh connections throughout. Every attempt ends in an open socket or a coded refusal,
// the caps hold exactly, and every /healthz answers.
// `npm test` runs a few hundred attempts against small caps; `npm run test:reliability` (RELIABILITY=full) runs
// 20,000 against the default caps and writes its figures, /healthz latency among them, to
// .tmp/reliability/idle-sockets.json.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startService, stopProcess, type ServiceProcess } from './support/serviceProcess.js';
import { createScratchDir } from './support/testApp.js';

const FULL = process.env['RELIABILITY'] === 'full';
const TEST_LIMIT_MS = FULL ? 300_000 : 60_000;
const ATTEMPTS = FULL ? 20_000 : 400;
/** The full run uses the defaults (sized from the process's descriptor limit); the short one small caps. */
const CAPS: Record<string, string> = FULL ? {} : { MAX_WS_CONNECTIONS: '100', MAX_WS_CONNECTIONS_PER_CLIENT: '20' };
/** Half the attempts come from one address (one attacker), half from these many (a botnet, or users behind NATs). */
const SPREAD_SOURCES = FULL ? 100 : 10;
/** Attempts under way at once: bounded, so the test's own process stays far from its descriptor limit. */
const IN_FLIGHT = 200;
/** An attempt that neither opens nor is refused within this is counted as hung (and must not happen). */
const ATTEMPT_LIMIT_MS = 20_000;
const HEALTHZ_EVERY_MS = 50;
const HELD_MS = 1000;

const scratch = createScratchDir('aio-idle-sockets-');
const leftovers: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  scratch.remove();
});

type Outcome = 'opened' | `refused ${number} ${string}` | `failed ${string}` | 'hung';

/** One graphql-ws connection: opened, initialized with an empty payload (no keys), then kept idle in `held`. */
function attempt(wsUrl: string, from: string, held: WebSocket[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { localAddress: from });
    const limit = setTimeout(() => {
      socket.terminate();
      resolve('hung');
    }, ATTEMPT_LIMIT_MS);
    const done = (outcome: Outcome) => {
      clearTimeout(limit);
      resolve(outcome);
    };
    socket.once('unexpected-response', (request, response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.once('end', () => {
        request.destroy();
        let code = 'unparsable';
        try {
          code = String(JSON.parse(text).errors[0].extensions.code);
        } catch {
          // Reported through the outcome, which the test requires to be a coded refusal.
        }
        done(`refused ${response.statusCode!} ${code}`);
      });
    });
    socket.once('error', (error: Error & { code?: string }) => done(`failed ${error.code ?? error.message}`));
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.once('message', (data) => {
      if (JSON.parse(String(data)).type !== 'connection_ack') return done(`failed ${String(data)}`);
      held.push(socket);
      done('opened');
    });
  });
}

/**
 * A balancer's probe in a process of its own (so the attackers' work in this one does not delay its clock): GET
 * /healthz on a fresh connection every HEALTHZ_EVERY_MS, one line `status ms` per answer (status 0: no answer),
 * until its stdin closes.
 */
const PROBER = `
const http = require('node:http');
let running = true;
process.stdin.on('end', () => (running = false)).resume();
const probe = () => new Promise((resolve) => {
  const started = performance.now();
  const request = http.get(process.argv[1] + '/healthz', { agent: false }, (response) => {
    response.resume();
    response.once('end', () => resolve(response.statusCode + ' ' + (performance.now() - started)));
  });
  request.once('error', () => resolve('0 ' + (performance.now() - started)));
});
(async () => {
  while (running) {
    process.stdout.write((await probe()) + '\\n');
    await new Promise((resolve) => setTimeout(resolve, ${HEALTHZ_EVERY_MS}));
  }
})();
`;

function startProber(url: string): { stop(): Promise<{ status: number; ms: number }[]> } {
  const child = spawn(process.execPath, ['-e', PROBER, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  leftovers.push(() => child.kill('SIGKILL'));
  return {
    async stop() {
      child.stdin.end();
      await exited;
      return out
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [status, ms] = line.split(' ');
          return { status: Number(status), ms: Number(ms) };
        });
    },
  };
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}

describe('idle WebSockets', () => {
  it(
    `${ATTEMPTS} idle graphql-ws connections leave /healthz answering`,
    async () => {
      const service: ServiceProcess = await startService({ DATABASE_PATH: path.join(scratch.dir, 'idle.db'), ...CAPS });
      leftovers.push(() => stopProcess(service));
      const held: WebSocket[] = [];
      leftovers.push(() => held.forEach((socket) => socket.terminate()));
      const rssBefore = service.memory().rssBytes;

      const prober = startProber(service.url);

      const outcomes = new Map<Outcome, number>();
      let next = 0;
      const startedAt = performance.now();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < ATTEMPTS) {
            const index = next++;
            const from = index % 2 === 0 ? '127.0.0.1' : `127.0.1.${1 + (index % SPREAD_SOURCES)}`;
            const outcome = await attempt(service.wsUrl, from, held);
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          }
        }),
      );
      const attemptsMs = performance.now() - startedAt;
      // The sockets stay open and idle a while longer: /healthz must keep answering with the caps full.
      await sleep(HELD_MS);
      const probes = await prober.stop();
      const rssHeld = service.memory().rssBytes;

      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const gauge = (state: string) =>
        Number(new RegExp(`^allinone_websocket_connections\\{state="${state}"\\} (\\d+)`, 'm').exec(metrics)?.[1]);
      const latencies = probes.map((probe) => probe.ms).sort((a, b) => a - b);
      const summary = {
        attempts: ATTEMPTS,
        caps: CAPS,
        outcomes: Object.fromEntries(outcomes),
        attemptsSeconds: Math.round(attemptsMs) / 1000,
        healthz: {
          probes: probes.length,
          answered200: probes.filter((probe) => probe.status === 200).length,
          p50Ms: Math.round(percentile(latencies, 0.5) * 10) / 10,
          p99Ms: Math.round(percentile(latencies, 0.99) * 10) / 10,
          maxMs: Math.round((latencies.at(-1) ?? NaN) * 10) / 10,
        },
        webSocketsHeld: { initialized: gauge('initialized'), uninitialized: gauge('uninitialized') },
        rssMiB: { before: Math.round(rssBefore / 2 ** 20), withSocketsHeld: Math.round(rssHeld / 2 ** 20) },
      };
      if (FULL) {
        mkdirSync('.tmp/reliability', { recursive: true });
        writeFileSync('.tmp/reliability/idle-sockets.json', `${JSON.stringify(summary, null, 2)}\n`);
      }

      // Every attempt opened or was refused with a coded status: no reset, no hang.
      const unexpected = [...outcomes.keys()].filter(
        (outcome) => outcome !== 'opened' && !/^refused (429|503) TOO_MANY_CONNECTIONS$/.test(outcome),
      );
      expect(unexpected).toEqual([]);
      // The global cap is reached and holds exactly; the one busy address got its share and no more.
      const maxWebSockets = FULL ? 2048 : Number(CAPS['MAX_WS_CONNECTIONS']);
      expect(outcomes.get('opened')).toBe(maxWebSockets);
      expect(held.length).toBe(maxWebSockets);
      expect(summary.webSocketsHeld).toEqual({ initialized: maxWebSockets, uninitialized: 0 });
      expect(outcomes.get('refused 429 TOO_MANY_CONNECTIONS')).toBeGreaterThan(0);
      expect(outcomes.get('refused 503 TOO_MANY_CONNECTIONS')).toBeGreaterThan(0);
      // /healthz answered every time, during the flood and with the caps full.
      expect(probes.length).toBeGreaterThan(0);
      expect(summary.healthz.answered200).toBe(probes.length);
    },
    TEST_LIMIT_MS,
  );
});
