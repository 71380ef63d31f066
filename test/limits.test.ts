// Request limits over real sockets: GraphQL document limits, introspection, body and message size,
// subscriptions per connection and per key, and the graphql-ws connection_init timeout.
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Engine } from '../src/engine/index.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const KEY_A = 'limits-key-a-0123456789';
const KEY_B = 'limits-key-b-0123456789';
const MAX_BODY_BYTES = 4096;
const scratch = createScratchDir('aio-limits-');
const leftovers: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine;
let guarded: SqliteTestService;
let baseUrl: string;

beforeAll(async () => {
  // One chat sequence, so a test can keep chat streams waiting (and open) behind a job it holds.
  engine = await loadTestEngine({ maxParallelReplies: 1, warmConversations: 1, contextSize: 4096 });
  guarded = createTestService(path.join(scratch.dir, 'limits.db'), engine, {
    API_KEYS: `${KEY_A},${KEY_B}`,
    INTROSPECTION: 'false',
    MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    GRAPHQL_MAX_DEPTH: '4',
    GRAPHQL_MAX_ALIASES: '3',
    GRAPHQL_MAX_TOKENS: '60',
    GRAPHQL_MAX_COST: '25',
    GRAPHQL_MAX_DIRECTIVES: '2',
    MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
    MAX_SUBSCRIPTIONS_PER_KEY: '3',
    WS_INIT_TIMEOUT_MS: '200',
  });
  const address = await guarded.app.start(0, '127.0.0.1');
  baseUrl = `127.0.0.1:${address.port}`;
});

afterEach(async () => {
  for (const close of leftovers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await guarded.app.stop();
  guarded.database.close();
  await engine.dispose();
  scratch.remove();
});

async function post(body: string, key = KEY_A, accept = 'application/json') {
  const response = await fetch(`http://${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${key}` },
    body,
  });
  return { status: response.status, text: await response.text() };
}

function wsClient(key = KEY_A): Client {
  const client = createClient({
    url: `ws://${baseUrl}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
  });
  leftovers.push(() => client.dispose());
  return client;
}

/** Errors of an operation over HTTP and over graphql-ws, as `[code, message]` pairs. */
async function errorsOverBoth(query: string): Promise<{ http: string[][]; ws: string[][] }> {
  const http = JSON.parse((await post(JSON.stringify({ query }))).text) as { errors?: any[] };
  let ws: any[] = [];
  try {
    for await (const result of wsClient().iterate({ query })) ws = (result.errors as any[]) ?? [];
  } catch (error) {
    ws = error as any[];
  }
  const pairs = (errors: any[] = []) => errors.map((error) => [error.extensions?.code, error.message]);
  return { http: pairs(http.errors), ws: pairs(ws) };
}

const deepQuery = '{ conversations { edges { node { messages { id } } } } }';

describe('GraphQL document limits (GraphQL Armor), the same over HTTP and graphql-ws', () => {
  it.each([
    ['depth', deepQuery, 'GRAPHQL_VALIDATION_FAILED', /depth limit of 4 exceeded, found 5/],
    [
      'aliases',
      '{ a: engine { ready } b: engine { ready } c: engine { ready } d: engine { ready } }',
      'GRAPHQL_VALIDATION_FAILED',
      /Aliases limit of 3 exceeded, found 4/,
    ],
    ['tokens', `{ ${'__typename '.repeat(59)}}`, 'GRAPHQL_PARSE_FAILED', /Token limit of 60 exceeded/],
    [
      'cost',
      '{ engine { ready threads contextSize queueDepth runningJobs modelName } conversations { edges { node { id title createdAt } } } }',
      'GRAPHQL_VALIDATION_FAILED',
      /Cost limit of 25 exceeded/,
    ],
    [
      'directives',
      '{ engine @include(if: true) { ready @skip(if: false) } __typename @include(if: true) }',
      'GRAPHQL_VALIDATION_FAILED',
      /Directives limit of 2 exceeded, found 3/,
    ],
  ])('refuses an operation over the %s limit', async (_, query, code, message) => {
    const { http, ws } = await errorsOverBoth(query);
    for (const errors of [http, ws]) {
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.some(([errorCode, text]) => errorCode === code && message.test(text!))).toBe(true);
    }
  });

  it('serves operations within every limit', async () => {
    const query = '{ a: engine { ready } b: engine { ready } c: engine { ready } conversations { edges { node { id } } } }';
    const { status, text } = await post(JSON.stringify({ query }));
    expect(status).toBe(200);
    expect(JSON.parse(text).errors).toBeUndefined();
  });
});

describe('introspection', () => {
  it('refuses introspection and hides field suggestions when it is off', async () => {
    const { http, ws } = await errorsOverBoth('{ __schema { types { name } } }');
    expect(http[0]).toEqual(['GRAPHQL_VALIDATION_FAILED', expect.stringMatching(/introspection/i)]);
    expect(ws[0]).toEqual(['GRAPHQL_VALIDATION_FAILED', expect.stringMatching(/introspection/i)]);
    const typo = await errorsOverBoth('{ engin { ready } }');
    expect(typo.http[0]![1]).toMatch(/Cannot query field "engin"/);
    expect(JSON.stringify(typo)).not.toMatch(/Did you mean/);
  });

  it('keeps suggestions where introspection is on (the development default)', async () => {
    const open = createTestService(path.join(scratch.dir, 'open.db'), engine);
    leftovers.push(() => open.database.close());
    expect(open.config.http.limits.introspection).toBe(true);
    const body = await open.graphql('{ engin { ready } }');
    expect(body.errors?.[0]?.message).toMatch(/Did you mean "engine"/);
    expect((await open.graphql('{ __schema { queryType { name } } }')).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });
});

describe('request size', () => {
  /** A valid operation padded with spaces to exactly `bytes` bytes of JSON. */
  const bodyOf = (bytes: number) => {
    const base = JSON.stringify({ query: '{ __typename }' });
    return base.replace('{ __typename }', `{ __typename }${' '.repeat(bytes - Buffer.byteLength(base))}`);
  };

  it('serves a body of exactly MAX_BODY_BYTES and refuses one byte more with 413', async () => {
    const atLimit = await post(bodyOf(MAX_BODY_BYTES));
    expect(atLimit.status).toBe(200);
    expect(JSON.parse(atLimit.text)).toEqual({ data: { __typename: 'Query' } });
    const over = await post(bodyOf(MAX_BODY_BYTES + 1));
    expect(over.status).toBe(413);
    expect(JSON.parse(over.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('closes a WebSocket that sends a message over MAX_BODY_BYTES with 1009', async () => {
    const socket = new WebSocket(`ws://${baseUrl}/graphql`, 'graphql-transport-ws');
    leftovers.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${KEY_A}`, pad: 'x'.repeat(MAX_BODY_BYTES) },
      }),
    );
    expect(await closed).toBe(1009);
  });
});

describe('graphql-ws connection_init timeout', () => {
  it('closes a socket that never sends connection_init with 4408', async () => {
    const socket = new WebSocket(`ws://${baseUrl}/graphql`, 'graphql-transport-ws');
    leftovers.push(() => socket.terminate());
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    expect(await closed).toBe(4408);
  });
});

describe('concurrent subscriptions', () => {
  const CHAT = 'subscription ($input: ChatInput!) { chatStream(input: $input) { __typename } }';

  /** Subscribes and resolves with the first event's type, or the error code; the stream stays open. */
  function open(client: Client): { first: Promise<string>; done: Promise<void>; stop: () => void } {
    let settle!: (value: string) => void;
    const first = new Promise<string>((resolve) => (settle = resolve));
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const stop = client.subscribe(
      { query: CHAT, variables: { input: { message: 'wait your turn', maxTokens: 2, temperature: 0 } } },
      {
        next: (result) =>
          settle(
            result.errors
              ? String(result.errors[0]?.extensions?.['code'])
              : String((result.data as any).chatStream.__typename),
          ),
        error: (error) => {
          settle(Array.isArray(error) ? String(error[0]?.extensions?.code) : 'CLOSED');
          finish();
        },
        complete: () => finish(),
      },
    );
    return { first, done, stop };
  }

  it('caps them per connection and per key, over graphql-ws and SSE, and frees a slot when one ends', async () => {
    // Hold the only chat sequence, so the streams below stay open (started, waiting for it) while counted.
    const holder = new AbortController();
    const held = engine.chat(
      { history: [], message: 'hold the lane', temperature: 0, maxTokens: 3500 },
      { signal: holder.signal },
    );
    leftovers.push(() => held.result.catch(() => undefined));
    leftovers.push(() => holder.abort());
    // Wait for its first token without leaving the iteration (leaving it would stop the generation).
    await held[Symbol.asyncIterator]().next();

    const connection1 = wsClient(KEY_A);
    const s1 = open(connection1);
    const s2 = open(connection1);
    expect(await s1.first).toBe('ChatStarted');
    expect(await s2.first).toBe('ChatStarted');
    expect(await open(connection1).first).toBe('TOO_MANY_SUBSCRIPTIONS');

    const s4 = open(wsClient(KEY_A));
    expect(await s4.first).toBe('ChatStarted');
    // Key A now runs 3: a new graphql-ws connection and an SSE stream are refused alike.
    expect(await open(wsClient(KEY_A)).first).toBe('TOO_MANY_SUBSCRIPTIONS');
    const sse = await post(
      JSON.stringify({ query: CHAT, variables: { input: { message: 'me too', maxTokens: 2 } } }),
      KEY_A,
      'text/event-stream',
    );
    expect(sse.text).toContain('TOO_MANY_SUBSCRIPTIONS');
    // Another key has its own allowance.
    const other = open(wsClient(KEY_B));
    expect(await other.first).toBe('ChatStarted');

    s1.stop();
    await s1.done;
    const s6 = open(connection1);
    expect(await s6.first).toBe('ChatStarted');

    holder.abort();
    await Promise.all([s2.done, s4.done, other.done, s6.done]);
  });
});
