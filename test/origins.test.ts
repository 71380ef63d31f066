// What a page on another site can make a browser send, against a real server: refused by default, allowed by name.
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Engine } from '../src/engine/index.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-origins-');
const EVIL = 'http://evil.example';
const FRONTEND = 'http://127.0.0.1:5173';
const CHAT = 'mutation { chat(input: { message: "planted by another site", maxTokens: 2 }) { conversation { id } } }';
const LIST = '{ conversations(first: 100) { edges { node { id messages { content } } } } }';

interface Served {
  service: SqliteTestService;
  port: number;
}

let engine: Engine;
const servers: Served[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
});

afterAll(async () => {
  for (const { service } of servers) {
    await service.app.stop();
    service.database.close();
  }
  await engine.dispose();
  scratch.remove();
});

async function serve(name: string, env: Record<string, string> = {}): Promise<Served> {
  const service = createTestService(path.join(scratch.dir, `${name}.db`), engine, env);
  const { port } = await service.app.start(0, '127.0.0.1');
  const served = { service, port };
  servers.push(served);
  return served;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (fetch would not let a test set Host, Origin or Sec-Fetch-Site freely). */
function send(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/graphql',
        headers: {
          ...(options.body === undefined ? {} : { 'content-length': Buffer.byteLength(options.body) }),
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
          // A first event on a stream that was let through is evidence enough; do not wait for the reply to end.
          if (res.headers['content-type']?.includes('text/event-stream') && body.includes('event: next')) res.destroy();
        });
        res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function postJson(port: number, query: string, headers: Record<string, string> = {}) {
  return send(port, {
    method: 'POST',
    body: JSON.stringify({ query }),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function storedConversations(service: SqliteTestService): number {
  return (service.database.sqlite.prepare('select count(*) as n from conversations').get() as { n: number }).n;
}

function codeOf(response: RawResponse): string | undefined {
  return (JSON.parse(response.body) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
}

/** Opens a raw WebSocket with these headers; resolves with the handshake's outcome. */
function upgrade(port: number, headers: { origin?: string; host?: string }) {
  return new Promise<{ opened: boolean; status?: number }>((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws', {
      ...(headers.origin ? { origin: headers.origin } : {}),
      ...(headers.host ? { headers: { host: headers.host } } : {}),
    });
    socket.once('open', () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ opened: false, status: res.statusCode });
    });
    socket.once('error', () => resolve({ opened: false }));
  });
}

describe('by default, only this service’s own pages and non-browser clients', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve('default');
  });

  it('refuses a cross-origin request before it runs, and sends no CORS headers that would let the page read it', async () => {
    const response = await postJson(served.port, LIST, { origin: EVIL });
    expect(response.status).toBe(403);
    expect(codeOf(response)).toBe('FORBIDDEN_ORIGIN');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    const write = await postJson(served.port, CHAT, { origin: EVIL });
    expect(write.status).toBe(403);
    expect(storedConversations(served.service)).toBe(0);
  });

  it('answers a cross-origin preflight without allowing anything', async () => {
    const preflight = await send(served.port, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([
    ['an HTML form', 'application/x-www-form-urlencoded', `query=${encodeURIComponent(CHAT)}`],
    [
      'a multipart form',
      'multipart/form-data; boundary=x',
      `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: CHAT })}\r\n--x--\r\n`,
    ],
    ['text/plain', 'text/plain', JSON.stringify({ query: CHAT })],
  ])('never runs a body that %s can post without a preflight, even with no Origin', async (_, contentType, body) => {
    const response = await send(served.port, { method: 'POST', body, headers: { 'content-type': contentType } });
    expect(response.status).toBe(415);
    expect(codeOf(response)).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(storedConversations(served.service)).toBe(0);
  });

  it('refuses the GET event stream that EventSource, an <img> or a <script> on another site would open', async () => {
    const subscription = encodeURIComponent(
      'subscription { chatStream(input: { message: "hi", maxTokens: 2 }) { __typename } }',
    );
    const path = `/graphql?query=${subscription}`;
    const eventSource = await send(served.port, {
      path,
      headers: { accept: 'text/event-stream', origin: EVIL, 'sec-fetch-site': 'cross-site' },
    });
    expect([eventSource.status, codeOf(eventSource)]).toEqual([403, 'FORBIDDEN_ORIGIN']);
    const image = await send(served.port, {
      path,
      headers: { accept: 'image/avif,image/webp,*/*', 'sec-fetch-site': 'cross-site' },
    });
    expect([image.status, codeOf(image)]).toEqual([403, 'FORBIDDEN_ORIGIN']);
    // An older browser sends no Sec-Fetch-Site; no GraphQL client asks for images or anything at all.
    const oldBrowser = await send(served.port, { path, headers: { accept: '*/*' } });
    expect([oldBrowser.status, codeOf(oldBrowser)]).toEqual([406, 'NOT_ACCEPTABLE']);
    expect(storedConversations(served.service)).toBe(0);
  });

  it('serves its own page (same origin) over POST and the SSE GET, and clients that send no Origin', async () => {
    const own = `http://127.0.0.1:${served.port}`;
    const post = await postJson(served.port, '{ engine { ready } }', { origin: own, 'sec-fetch-site': 'same-origin' });
    expect([post.status, post.body]).toEqual([200, '{"data":{"engine":{"ready":true}}}']);
    const stream = await send(served.port, {
      path: `/graphql?query=${encodeURIComponent('subscription { chatStream(input: { message: "mine", maxTokens: 2 }) { __typename } }')}`,
      headers: { accept: 'text/event-stream', 'sec-fetch-site': 'same-origin' },
    });
    expect(stream.status).toBe(200);
    expect(stream.body).toContain('ChatStarted');
    const cli = await postJson(served.port, '{ engine { ready } }');
    expect(cli.status).toBe(200);
    const get = await send(served.port, {
      path: `/graphql?query=${encodeURIComponent('{ engine { ready } }')}`,
      headers: { accept: 'application/json' },
    });
    expect(get.status).toBe(200);
  });

  it('still serves the GraphiQL page to a link from anywhere (a navigation runs no operation)', async () => {
    const page = await send(served.port, {
      headers: { accept: 'text/html', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
    });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');
  });

  it('refuses a Host that is not its own on every route, as after DNS rebinding, and on the WebSocket', async () => {
    for (const route of ['/', '/graphql', '/healthz', '/metrics']) {
      const response = await send(served.port, {
        path: route,
        headers: { host: `evil.example:${served.port}`, accept: 'application/json' },
      });
      expect([route, response.status, codeOf(response)]).toEqual([route, 403, 'FORBIDDEN_HOST']);
    }
    expect(await upgrade(served.port, { host: `evil.example:${served.port}` })).toEqual({ opened: false, status: 403 });
    for (const host of [
      `localhost:${served.port}`,
      `127.0.0.1:${served.port}`,
      `[::1]:${served.port}`,
      `app.localhost:${served.port}`,
    ]) {
      expect([host, (await send(served.port, { path: '/healthz', headers: { host } })).status]).toEqual([host, 200]);
    }
  });

  it('refuses a WebSocket from a page of another site, and accepts its own page and clients without an Origin', async () => {
    expect(await upgrade(served.port, { origin: EVIL })).toEqual({ opened: false, status: 403 });
    expect(
      await upgrade(served.port, { origin: `http://localhost:${served.port}`, host: `localhost:${served.port}` }),
    ).toEqual({ opened: true });
    const client = createClient({
      url: `ws://127.0.0.1:${served.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      const result = await client.iterate({ query: '{ engine { ready } }' }).next();
      expect(result.value).toEqual({ data: { engine: { ready: true } } });
    } finally {
      await client.dispose();
    }
  });
});

describe('ALLOWED_ORIGINS and ALLOWED_HOSTS', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve('allowed', {
      ALLOWED_ORIGINS: `${FRONTEND},https://app.example.com`,
      ALLOWED_HOSTS: 'ai.example.com,.corp.example',
    });
  });

  it('lets a named frontend call and read the answer (CORS for it alone, without credentials)', async () => {
    const response = await postJson(served.port, '{ engine { ready } }', {
      origin: FRONTEND,
      'sec-fetch-site': 'same-site',
    });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(FRONTEND);
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    const preflight = await send(served.port, {
      method: 'OPTIONS',
      headers: {
        origin: FRONTEND,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(preflight.headers['access-control-allow-origin']).toBe(FRONTEND);
    expect(preflight.headers['access-control-allow-headers']).toBe('content-type,authorization');
    const other = await postJson(served.port, '{ engine { ready } }', { origin: EVIL });
    expect(other.status).toBe(403);
  });

  it('opens the WebSocket and the SSE GET to a named frontend', async () => {
    expect(await upgrade(served.port, { origin: 'https://app.example.com' })).toEqual({ opened: true });
    const stream = await send(served.port, {
      path: `/graphql?query=${encodeURIComponent('subscription { chatStream(input: { message: "from the frontend", maxTokens: 2 }) { __typename } }')}`,
      headers: { accept: 'text/event-stream', origin: FRONTEND, 'sec-fetch-site': 'same-site' },
    });
    expect(stream.status).toBe(200);
    expect(stream.body).toContain('ChatStarted');
  });

  it('answers to the names a reverse proxy forwards', async () => {
    for (const host of ['ai.example.com', 'corp.example', 'a.b.corp.example:8443']) {
      expect([host, (await send(served.port, { path: '/healthz', headers: { host } })).status]).toEqual([host, 200]);
    }
    expect((await send(served.port, { path: '/healthz', headers: { host: 'notcorp.example' } })).status).toBe(403);
  });
});
