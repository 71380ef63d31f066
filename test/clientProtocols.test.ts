// Subscriptions from the clients newcomers pick: graphql-sse in single-connection mode, Apollo Client's HttpLink
// (multipart HTTP subscriptions), each the real package against a real server on loopback.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { createClient, type Client as SseClient } from 'graphql-sse';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { useMultipartSubscriptions } from '../src/transport/useMultipartSubscriptions.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-client-protocols-');
const CHAT_STREAM = `subscription ($input: ChatInput!) { chatStream(input: $input) {
  __typename
  ... on ChatStarted { conversation { id } }
  ... on ChatDone { finishReason reply { content status } }
} }`;
/** Long enough that the client leaves well before the end. */
const LONG_INPUT = { message: 'a long one', maxTokens: 1500, temperature: 0, locale: 'EN' };
const INPUT = { message: 'hello from a client', maxTokens: 6, temperature: 0, locale: 'EN' };

type StreamEvent = { __typename: string; [key: string]: unknown };

const KEY = 'client-protocols-key-0123456789';

let engine: Engine;
let service: SqliteTestService;
let baseUrl: string;
/** The same service with API_KEYS set. */
let keyed: SqliteTestService;
let keyedUrl: string;
const disposers: (() => unknown)[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'clients.db'), engine);
  const address = await service.app.start(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${address.port}/graphql`;
  keyed = createTestService(path.join(scratch.dir, 'keyed.db'), engine, { API_KEYS: KEY });
  keyedUrl = `http://127.0.0.1:${(await keyed.app.start(0, '127.0.0.1')).port}/graphql`;
});

afterEach(async () => {
  for (const dispose of disposers.splice(0)) await dispose();
});

afterAll(async () => {
  await service.app.stop();
  service.database.close();
  await keyed.app.stop();
  keyed.database.close();
  await engine.dispose();
  scratch.remove();
});

function storedStatuses(conversationId: string): string[] {
  return (
    service.database.sqlite
      .prepare('select status from messages where conversation_id = ? order by created_at, id')
      .all(conversationId) as { status: string }[]
  ).map((row) => row.status);
}

/** A stream ends with ChatDone after ChatStarted and its tokens; the reply is stored complete. */
function expectCompleteStream(events: StreamEvent[]): void {
  expect(events[0]!.__typename).toBe('ChatStarted');
  expect(events.at(-1)).toMatchObject({ __typename: 'ChatDone', reply: { status: 'COMPLETE' } });
  expect(events.slice(1, -1).every((event) => event.__typename === 'ChatToken')).toBe(true);
}

describe('graphql-sse, single-connection mode', () => {
  function sseClient(): SseClient<true> {
    const client = createClient({ url: baseUrl, singleConnection: true, retryAttempts: 0 });
    disposers.push(() => client.dispose());
    return client;
  }

  it('completes a chatStream on one reserved event stream', async () => {
    const events: StreamEvent[] = [];
    for await (const result of sseClient().iterate({ query: CHAT_STREAM, variables: { input: INPUT } })) {
      expect(result.errors).toBeUndefined();
      events.push((result.data as { chatStream: StreamEvent }).chatStream);
    }
    expectCompleteStream(events);
  });

  it('runs a query on the same stream', async () => {
    const results = [];
    for await (const result of sseClient().iterate({ query: '{ __typename }' })) results.push(result);
    expect(results).toEqual([{ data: { __typename: 'Query' } }]);
  });

  it('stops the reply, stored as ABORTED, when the client completes the subscription', async () => {
    let conversationId = '';
    const iterator = sseClient().iterate({ query: CHAT_STREAM, variables: { input: LONG_INPUT } });
    let tokens = 0;
    for await (const result of iterator) {
      const event = (result.data as { chatStream: StreamEvent }).chatStream;
      if (event.__typename === 'ChatStarted') conversationId = (event['conversation'] as { id: string }).id;
      if (event.__typename === 'ChatToken' && ++tokens === 3) break;
    }
    await expect.poll(() => storedStatuses(conversationId), { timeout: 5_000 }).toEqual(['complete', 'aborted']);
  });

  it.each([
    ['an invalid operation', '{ noSuchField }', 'GRAPHQL_VALIDATION_FAILED'],
    ['a syntax error', '{ __typename', 'GRAPHQL_PARSE_FAILED'],
  ])('answers %s with a coded error on the stream', async (_, query, code) => {
    const results = [];
    for await (const result of sseClient().iterate({ query })) results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0]!.errors?.map((error) => error.extensions?.['code'])).toEqual([code]);
  });
});

describe('graphql-sse, distinct connections (what worked before, unchanged)', () => {
  it('completes a chatStream, one request per operation', async () => {
    const client = createClient({ url: baseUrl, retryAttempts: 0 });
    disposers.push(() => client.dispose());
    const events: StreamEvent[] = [];
    for await (const result of client.iterate({ query: CHAT_STREAM, variables: { input: INPUT } })) {
      expect(result.errors).toBeUndefined();
      events.push((result.data as { chatStream: StreamEvent }).chatStream);
    }
    expectCompleteStream(events);
  });
});

describe("Apollo Client's HttpLink (multipart subscriptions)", () => {
  function apolloClient(): ApolloClient {
    const client = new ApolloClient({ link: new HttpLink({ uri: baseUrl }), cache: new InMemoryCache() });
    disposers.push(() => client.stop());
    return client;
  }

  /** Every result until the subscription completes or errors; Apollo reports GraphQL errors as `error`. */
  function collect(variables: Record<string, unknown>) {
    const results: { data?: unknown; error?: unknown }[] = [];
    return new Promise<typeof results>((resolve) => {
      apolloClient()
        .subscribe({ query: gql(CHAT_STREAM), variables, fetchPolicy: 'no-cache' })
        .subscribe({
          next: (result) => void results.push(result),
          error: (error) => resolve([...results, { error }]),
          complete: () => resolve(results),
        });
    });
  }

  it('streams a chatStream to the end', async () => {
    const results = await collect({ input: INPUT });
    expect(results.every((result) => result.error === undefined)).toBe(true);
    expectCompleteStream(results.map((result) => (result.data as { chatStream: StreamEvent }).chatStream));
  });

  it('stops the reply, stored as ABORTED, when the client unsubscribes', async () => {
    let conversationId = '';
    let tokens = 0;
    await new Promise<void>((resolve) => {
      const subscription = apolloClient()
        .subscribe({ query: gql(CHAT_STREAM), variables: { input: LONG_INPUT }, fetchPolicy: 'no-cache' })
        .subscribe((result) => {
          const event = (result.data as { chatStream: StreamEvent }).chatStream;
          if (event.__typename === 'ChatStarted') conversationId = (event['conversation'] as { id: string }).id;
          if (event.__typename === 'ChatToken' && ++tokens === 3) {
            subscription.unsubscribe();
            resolve();
          }
        });
    });
    await expect.poll(() => storedStatuses(conversationId), { timeout: 5_000 }).toEqual(['complete', 'aborted']);
  });

  it('gets bad input as a coded GraphQL error', async () => {
    const results = await collect({ input: { ...INPUT, message: '' } });
    const error = results.at(-1)?.error as { errors?: { extensions?: { code?: string } }[] } | undefined;
    expect(error?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('multipart heartbeats', () => {
  const APOLLO_ACCEPT = 'multipart/mixed;boundary=graphql;subscriptionSpec=1.0';

  /** A subscription that yields once the test lets it: an event that waits (a reply queued behind others). */
  function waitingYoga() {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: 'type Query { ok: Boolean } type Subscription { waited: String }',
        resolvers: {
          Subscription: {
            waited: {
              subscribe: async function* () {
                await released;
                yield { waited: 'done' };
              },
            },
          },
        },
      }),
      plugins: [useMultipartSubscriptions({ heartbeatMs: 10 })],
    });
    return { yoga, release };
  }

  /** Reads `body` until a heartbeat part (`{}`) has gone out, then lets the subscription yield. */
  async function releaseAfterHeartbeat(body: ReadableStream<Uint8Array>, release: () => void): Promise<string> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\r\n\r\n{}')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`the stream ended without a heartbeat: ${text}`);
      text += decoder.decode(chunk.value, { stream: true });
    }
    release();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
    }
    return text;
  }

  it('sends empty parts while the stream waits, then the event and the closing boundary', async () => {
    const { yoga, release } = waitingYoga();
    const response = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: APOLLO_ACCEPT },
      body: JSON.stringify({ query: 'subscription { waited }' }),
    });
    const text = await releaseAfterHeartbeat(response.body!, release);
    const parts = text.split('\r\n--graphql').slice(1, -1).map((part) => JSON.parse(part.split('\r\n\r\n')[1]!));
    expect(parts.at(-1)).toEqual({ payload: { data: { waited: 'done' } } });
    expect(new Set(parts.slice(0, -1).map((part) => JSON.stringify(part)))).toEqual(new Set(['{}']));
    expect(text.endsWith('\r\n--graphql--\r\n')).toBe(true);
  });

  it('Apollo skips the heartbeats: only the event arrives', async () => {
    const { yoga, release } = waitingYoga();
    const server = createServer(yoga);
    disposers.push(
      () =>
        new Promise((resolve) => {
          server.close(resolve);
          server.closeAllConnections();
        }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Apollo reads its own copy of the body; this one lets the event go once a heartbeat has reached the client.
    const watchingFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const response = await fetch(input, init);
      const [forApollo, watched] = response.body!.tee();
      void releaseAfterHeartbeat(watched, release);
      return new Response(forApollo, { status: response.status, headers: response.headers });
    };
    const { port } = server.address() as AddressInfo;
    const apollo = new ApolloClient({
      link: new HttpLink({ uri: `http://127.0.0.1:${port}/graphql`, fetch: watchingFetch }),
      cache: new InMemoryCache(),
    });
    disposers.push(() => apollo.stop());
    const results = await new Promise<unknown[]>((resolve, reject) => {
      const seen: unknown[] = [];
      apollo
        .subscribe({ query: gql('subscription { waited }'), fetchPolicy: 'no-cache' })
        .subscribe({ next: (result) => void seen.push(result), error: reject, complete: () => resolve(seen) });
    });
    expect(results).toEqual([{ data: { waited: 'done' } }]);
  });
});

describe('with API_KEYS', () => {
  it('single-connection SSE needs the key to reserve its stream (401, UNAUTHENTICATED) and runs with it', async () => {
    const reserve = await fetch(keyedUrl, { method: 'PUT' });
    expect(reserve.status).toBe(401);
    expect((await reserve.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const client = createClient({
      url: keyedUrl,
      singleConnection: true,
      retryAttempts: 0,
      headers: { authorization: `Bearer ${KEY}` },
    });
    disposers.push(() => client.dispose());
    const results = [];
    for await (const result of client.iterate({ query: '{ __typename }' })) results.push(result);
    expect(results).toEqual([{ data: { __typename: 'Query' } }]);
  });

  it("Apollo's multipart subscription without the key is refused with UNAUTHENTICATED", async () => {
    const client = new ApolloClient({ link: new HttpLink({ uri: keyedUrl }), cache: new InMemoryCache() });
    disposers.push(() => client.stop());
    const error = await new Promise<unknown>((resolve) => {
      client
        .subscribe({ query: gql(CHAT_STREAM), variables: { input: INPUT }, fetchPolicy: 'no-cache' })
        .subscribe({ next: (result) => resolve(result.error), error: resolve, complete: () => resolve(undefined) });
    });
    expect(error).toMatchObject({ statusCode: 401 });
    expect(JSON.parse((error as { bodyText: string }).bodyText).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
