// Connection caps over real sockets: WebSockets in all, per client address, per API key and not yet initialized,
// refused at the upgrade with a coded status while HTTP and /healthz keep answering; MAX_CONNECTIONS for TCP.
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { clientOf } from '../src/limits/clientAddress.js';
import { defaultMaxConnections } from '../src/limits/connectionLimits.js';
import { createScratchDir, createTestService, type SqliteTestService } from './support/testApp.js';

const KEY_A = 'connections-key-a-0123456789';
const KEY_B = 'connections-key-b-0123456789';
const INIT_TIMEOUT_MS = 60_000;
const scratch = createScratchDir('aio-connections-');
const leftovers: (() => Promise<unknown> | unknown)[] = [];
let service: SqliteTestService;
let port: number;

beforeAll(async () => {
  service = createTestService(path.join(scratch.dir, 'connections.db'), undefined, {
    API_KEYS: `${KEY_A},${KEY_B}`,
    MAX_WS_CONNECTIONS: '6',
    MAX_WS_CONNECTIONS_PER_CLIENT: '4',
    MAX_WS_CONNECTIONS_PER_KEY: '3',
    MAX_WS_UNINITIALIZED: '2',
    // Long enough that no socket in these tests is closed for a missing connection_init.
    WS_INIT_TIMEOUT_MS: String(INIT_TIMEOUT_MS),
  });
  ({ port } = await service.app.start(0, '127.0.0.1'));
});

afterEach(async () => {
  for (const close of leftovers.splice(0).reverse()) await close();
  // Every test starts with no socket counted: the server has seen each close.
  await waitFor(async () => (await webSocketGauge()).initialized + (await webSocketGauge()).uninitialized === 0);
});

afterAll(async () => {
  await service.app.stop();
  service.database.close();
  scratch.remove();
});

/** Polls a state of the server (never a timing) until it holds; fails after a bound rather than hanging. */
async function waitFor(condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error('the state did not come about');
}

async function webSocketGauge(target = service): Promise<{ initialized: number; uninitialized: number }> {
  const { values } = await target.metrics.registry.getSingleMetric('allinone_websocket_connections')!.get();
  const of = (state: string) => values.find((value) => value.labels['state'] === state)?.value ?? NaN;
  return { initialized: of('initialized'), uninitialized: of('uninitialized') };
}

async function refusedCount(scope: string): Promise<number> {
  const { values } = await service.metrics.registry.getSingleMetric('allinone_websocket_refused_total')!.get();
  return values.find((value) => value.labels['scope'] === scope)?.value ?? NaN;
}

type Attempt =
  | { kind: 'open'; socket: WebSocket; acked: boolean; closeCode?: number; closeReason?: string }
  | { kind: 'refused'; status: number; retryAfter: string | undefined; body: any };

/**
 * Opens a graphql-ws socket from `from` (any 127.x address reaches the server on Linux); with a key it sends
 * `connection_init` and waits for the ack or the close. A refused upgrade resolves with its status and body.
 */
function attempt(from: string, key?: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws', { localAddress: from });
    leftovers.push(() => closed(socket));
    socket.once('unexpected-response', (request, response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.once('end', () => {
        request.destroy();
        const retryAfter = response.headers['retry-after'];
        resolve({ kind: 'refused', status: response.statusCode!, retryAfter, body: JSON.parse(text) });
      });
    });
    socket.once('error', reject);
    socket.once('open', () => {
      if (key === undefined) return resolve({ kind: 'open', socket, acked: false });
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
      socket.once('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') resolve({ kind: 'open', socket, acked: true });
      });
      socket.once('close', (code, reason) =>
        resolve({ kind: 'open', socket, acked: false, closeCode: code, closeReason: String(reason) }),
      );
    });
  });
}

async function opened(from: string, key?: string): Promise<WebSocket> {
  const result = await attempt(from, key);
  if (result.kind === 'open' && (key === undefined || result.acked)) return result.socket;
  const { socket: _socket, ...shown } = result as Attempt & { socket?: WebSocket };
  throw new Error(`not opened: ${JSON.stringify(shown)}`);
}

/** Closes a socket and resolves once the client has seen the close. */
function closed(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.terminate();
  });
}

async function healthz(): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
}

describe('WebSocket connection caps', () => {
  it('refuses a fifth socket from one address with 429 TOO_MANY_CONNECTIONS; other addresses still connect', async () => {
    const first = await opened('127.0.0.1', KEY_A);
    await opened('127.0.0.1', KEY_A);
    await opened('127.0.0.1', KEY_B);
    await opened('127.0.0.1', KEY_B);
    const refused = await attempt('127.0.0.1', KEY_B);
    expect(refused).toMatchObject({ kind: 'refused', status: 429, retryAfter: '5' });
    expect(refused.kind === 'refused' && refused.body.errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');
    expect(await refusedCount('client')).toBe(1);
    await opened('127.0.0.2', KEY_B);
    expect(await healthz()).toBe(200);

    await closed(first);
    await waitFor(async () => (await webSocketGauge()).initialized === 4);
    await opened('127.0.0.1', KEY_A);
  });

  it('refuses a socket past MAX_WS_CONNECTIONS with 503, and /healthz and HTTP keep answering', async () => {
    const sockets = [];
    for (const [from, key] of [
      ['127.0.0.1', KEY_A],
      ['127.0.0.1', KEY_A],
      ['127.0.0.2', KEY_A],
      ['127.0.0.2', KEY_B],
      ['127.0.0.3', KEY_B],
      ['127.0.0.3', KEY_B],
    ] as const) {
      sockets.push(await opened(from, key));
    }
    expect(await webSocketGauge()).toEqual({ initialized: 6, uninitialized: 0 });
    const refused = await attempt('127.0.0.4');
    expect(refused).toMatchObject({ kind: 'refused', status: 503, retryAfter: '5' });
    expect(refused.kind === 'refused' && refused.body.errors[0]).toMatchObject({
      message: expect.stringMatching(/limit of 6 WebSocket connections/),
      extensions: { code: 'TOO_MANY_CONNECTIONS' },
    });
    expect(await refusedCount('server')).toBe(1);
    expect(await healthz()).toBe(200);
    const graphql = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await graphql.json()).toEqual({ data: { __typename: 'Query' } });

    await closed(sockets[0]!);
    await waitFor(async () => (await webSocketGauge()).initialized === 5);
    await opened('127.0.0.4', KEY_A);
  });

  it('refuses a socket past MAX_WS_UNINITIALIZED until one of the waiting sockets sends connection_init', async () => {
    const waiting = await opened('127.0.0.1');
    await opened('127.0.0.2');
    expect(await webSocketGauge()).toEqual({ initialized: 0, uninitialized: 2 });
    const refused = await attempt('127.0.0.3', KEY_A);
    expect(refused).toMatchObject({ kind: 'refused', status: 503, retryAfter: String(INIT_TIMEOUT_MS / 1000) });
    expect(refused.kind === 'refused' && refused.body.errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');
    expect(await refusedCount('uninitialized')).toBe(1);

    const acked = new Promise((resolve) => waiting.once('message', resolve));
    waiting.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${KEY_A}` } }));
    expect(JSON.parse(String(await acked))).toEqual({ type: 'connection_ack' });
    expect(await webSocketGauge()).toEqual({ initialized: 1, uninitialized: 1 });
    await opened('127.0.0.3', KEY_A);
  });

  it('closes a fourth socket of one API key with 1013 at connection_init; other keys are unaffected', async () => {
    const first = await opened('127.0.0.1', KEY_A);
    await opened('127.0.0.2', KEY_A);
    await opened('127.0.0.3', KEY_A);
    const fourth = await attempt('127.0.0.4', KEY_A);
    expect(fourth).toMatchObject({ kind: 'open', acked: false, closeCode: 1013 });
    expect(fourth.kind === 'open' && fourth.closeReason).toMatch(/API key already holds 3 WebSocket connections/);
    expect(await refusedCount('key')).toBe(1);
    await opened('127.0.0.4', KEY_B);

    await closed(first);
    await waitFor(async () => (await webSocketGauge()).initialized === 3);
    await opened('127.0.0.4', KEY_A);
  });
});

describe('MAX_CONNECTIONS', () => {
  it('closes TCP connections past it on arrival, counting them, and serves again once some close', async () => {
    const capped = createTestService(path.join(scratch.dir, 'capped.db'), undefined, {
      MAX_CONNECTIONS: '64',
      MAX_WS_CONNECTIONS: '32',
    });
    const address = await capped.app.start(0, '127.0.0.1');
    leftovers.push(() => capped.database.close(), () => capped.app.stop());
    const connect = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect(address.port, '127.0.0.1', () => resolve(socket));
        socket.once('error', reject);
      });
    const idle: net.Socket[] = [];
    for (let index = 0; index < 64; index += 1) idle.push(await connect());
    // Node accepts in arrival order, so the 65th is the one past the cap.
    const extra = await connect();
    await new Promise((resolve) => extra.once('close', resolve));
    const open = await capped.metrics.registry.getSingleMetric('allinone_http_connections')!.get();
    expect(open.values[0]?.value).toBe(64);
    const dropped = await capped.metrics.registry.getSingleMetric('allinone_http_connections_dropped_total')!.get();
    expect(dropped.values[0]?.value).toBe(1);

    for (const socket of idle) socket.destroy();
    await waitFor(async () => {
      const left = await capped.metrics.registry.getSingleMetric('allinone_http_connections')!.get();
      return left.values[0]?.value === 0;
    });
    const response = await fetch(`http://127.0.0.1:${address.port}/healthz`);
    expect(response.status).toBe(200);
  });
});

describe('the caps in the configuration', () => {
  it('sizes the defaults from the descriptor limit, WebSockets taking at most half of the connections', () => {
    expect(loadConfig({}, 20_000).http.connections).toEqual({
      maxConnections: 19_744,
      maxWebSockets: 2048,
      maxWebSocketsPerClient: 128,
      maxWebSocketsPerKey: 128,
      maxUninitializedWebSockets: 256,
    });
    expect(loadConfig({}, 1024).http.connections).toMatchObject({ maxConnections: 768, maxWebSockets: 384 });
    expect(loadConfig({ MAX_CONNECTIONS: '100' }, 20_000).http.connections).toMatchObject({ maxWebSockets: 50 });
    // Without /proc, the smallest soft limit common systems give.
    expect(defaultMaxConnections(undefined)).toBe(768);
  });

  it('refuses caps that would leave no room for HTTP, or pass the descriptor limit', () => {
    const fails = (env: Record<string, string>) => {
      try {
        loadConfig(env, 20_000);
      } catch (error) {
        return error instanceof ConfigError ? error.variable : String(error);
      }
      return 'accepted';
    };
    expect(fails({ MAX_CONNECTIONS: '100', MAX_WS_CONNECTIONS: '90' })).toBe('MAX_WS_CONNECTIONS');
    expect(fails({ MAX_CONNECTIONS: '30000' })).toBe('MAX_CONNECTIONS');
    expect(fails({ MAX_WS_CONNECTIONS: '10', MAX_WS_CONNECTIONS_PER_CLIENT: '11' })).toBe('MAX_WS_CONNECTIONS_PER_CLIENT');
    expect(fails({ MAX_CONNECTIONS: '100', MAX_WS_CONNECTIONS: '68' })).toBe('accepted');
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(clientOf('2001:db8:1:2:aaaa::1')).toBe(clientOf('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(clientOf('2001:db8:1:2::1')).not.toBe(clientOf('2001:db8:1:3::1'));
    expect(clientOf('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientOf('127.0.0.1')).not.toBe(clientOf('127.0.0.2'));
  });
});
