// The HTTP surface's edges over real sockets: request targets a proxy would send, the playground page's size on the
// wire and its revalidation, and schema hints with introspection off. No model is needed for any of them.
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createScratchDir, createTestService, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-http-surface-');
let service: SqliteTestService;
let port: number;

beforeAll(async () => {
  service = createTestService(path.join(scratch.dir, 'surface.db'), undefined, {
    NODE_ENV: 'production',
    INTROSPECTION: 'false',
  });
  ({ port } = await service.app.start(0, '127.0.0.1'));
});

afterAll(async () => {
  await service.app.stop();
  service.database.close();
  scratch.remove();
});

/** Sends `head` as the whole request on a fresh TCP connection and returns what came back until the server closed. */
function rawRequest(head: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const [headers = '', raw = ''] = text.split('\r\n\r\n', 2);
      const body = /^transfer-encoding: chunked/im.test(headers) ? unchunk(raw) : raw;
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]), headers, body });
    });
  });
}

/** The body of a chunked response (the JSON answers here are ASCII, so lengths in bytes are lengths in characters). */
function unchunk(raw: string): string {
  let body = '';
  let rest = raw;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return body;
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** A GET whose body comes back as the bytes on the wire (fetch would decompress them). */
function getRaw(urlPath: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.once('error', reject);
      req.end();
    },
  );
}

const STACK_TRACE = /node_modules|\bat .+:\d+:\d+|TypeError/;

describe('request targets', () => {
  it('serves an absolute-form target (as a proxy sends it) as its path', async () => {
    const response = await rawRequest(
      `GET http://127.0.0.1:${port}/healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
  });

  it('runs a GraphQL GET with an absolute-form target like any other', async () => {
    const target = `http://127.0.0.1:${port}/graphql?query=${encodeURIComponent('{ __typename }')}`;
    const response = await rawRequest(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ data: { __typename: 'Query' } });
  });

  it("applies the Host rules to the target's host, which overrides the header (RFC 9112)", async () => {
    const response = await rawRequest(
      `GET http://rebound.example/healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body).errors[0].extensions.code).toBe('FORBIDDEN_HOST');
  });

  it.each([
    ['the asterisk form', 'OPTIONS *'],
    ['an http URL that does not parse', 'GET http://[::1/healthz'],
    ['another scheme', 'GET ftp://127.0.0.1/healthz'],
  ])('answers %s with 400 BAD_REQUEST, never a stack trace', async (_, requestLine) => {
    const response = await rawRequest(`${requestLine} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(response.body).not.toMatch(STACK_TRACE);
  });

  it('refuses a WebSocket upgrade with such a target with 400, and serves one with an absolute-form target', async () => {
    const upgrade = (target: string) =>
      rawRequest(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
          'Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
      );
    const refused = await upgrade('*');
    expect(refused.status).toBe(400);
    expect(refused.body).not.toMatch(STACK_TRACE);
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(_url: string, protocols: string[]) {
          // `ws` sends the path; an absolute URL as the request path is what a proxy-minded client sends instead.
          super(`ws://127.0.0.1:${port}/graphql`, protocols, { path: `http://127.0.0.1:${port}/graphql` } as never);
        }
      },
      retryAttempts: 0,
    });
    try {
      const results = [];
      for await (const result of client.iterate({ query: '{ __typename }' })) results.push(result);
      expect(results).toEqual([{ data: { __typename: 'Query' } }]);
    } finally {
      await client.dispose();
    }
  });
});

describe('the GraphiQL playground page', () => {
  const page = renderGraphiQL({ subscriptionsProtocol: 'WS', title: 'All-in-One' });
  const html = { accept: 'text/html' };

  it.each([
    ['br', brotliDecompressSync],
    ['gzip', gunzipSync],
  ])('is sent %s-compressed to a browser that accepts it, and decodes to the page', async (encoding, decode) => {
    const response = await getRaw('/graphql', { ...html, 'accept-encoding': `${encoding}, identity;q=0.5` });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe(encoding);
    expect(response.headers['vary']).toBe('Accept-Encoding');
    expect(response.body.length).toBeLessThan(Buffer.byteLength(page) / 3);
    expect(decode(response.body).toString('utf8')).toBe(page);
  });

  it('is sent whole to a client that accepts no compression', async () => {
    const response = await getRaw('/graphql', { ...html, 'accept-encoding': 'br;q=0, gzip;q=0' });
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.body.toString('utf8')).toBe(page);
  });

  it('carries an ETag and no-cache, and answers 304 with no body when the browser already has it', async () => {
    const first = await getRaw('/graphql', { ...html, 'accept-encoding': 'gzip' });
    const etag = String(first.headers['etag']);
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers['cache-control']).toBe('no-cache');
    for (const encoding of ['gzip', 'br', 'identity']) {
      const again = await getRaw('/graphql', { ...html, 'accept-encoding': encoding, 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers['etag']).toBe(etag);
    }
    const stale = await getRaw('/graphql', { ...html, 'accept-encoding': 'gzip', 'if-none-match': 'W/"other"' });
    expect(stale.status).toBe(200);
  });
});

describe('schema hints with introspection off', () => {
  it('hides "Did you mean" for a misspelled enum value, written in the query or sent as a variable', async () => {
    const literal = await service.graphql('{ sentiment(text: "hi", locale: EM) { label } }');
    expect(literal.errors?.[0]?.message).toMatch(/Value "EM" does not exist in "Locale" enum/);
    const variable = await service.graphql('query ($locale: Locale) { sentiment(text: "hi", locale: $locale) { label } }', {
      locale: 'EM',
    });
    expect(variable.errors?.[0]?.message).toMatch(/Value "EM" does not exist in "Locale" enum/);
    const typos = await service.graphql('{ sentiment(txt: "hi") { labl } }');
    expect(typos.errors?.length).toBeGreaterThan(1);
    expect(JSON.stringify([literal, variable, typos])).not.toMatch(/Did you mean|\[Suggestion hidden\]/);
  });

  it('hides it over graphql-ws too', async () => {
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      let errors: { message: string }[] = [];
      try {
        for await (const result of client.iterate({
          query: 'query ($locale: Locale) { sentiment(text: "hi", locale: $locale) { label } }',
          variables: { locale: 'EM' },
        })) {
          errors = [...(result.errors ?? [])];
        }
      } catch (error) {
        errors = error as { message: string }[];
      }
      expect(errors[0]?.message).toMatch(/Value "EM" does not exist in "Locale" enum/);
      expect(errors[0]?.message).not.toMatch(/Did you mean/);
    } finally {
      await client.dispose();
    }
  });
});
