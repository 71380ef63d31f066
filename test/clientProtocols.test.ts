// Subscriptions from the clients newcomers pick: graphql-sse in single-connection mode, Apollo Client's HttpLink
// (multipart HTTP subscriptions), each the real package against a real server on loopback.
import path from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { createClient, type Client as SseClient } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
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
const disposers: (() => void)[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'clients.db'), engine);
  const address = await service.app.start(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${address.port}/graphql`;
  keyed = createTestService(path.join(scratch.dir, 'keyed.db'), engine, { API_KEYS: KEY });
  keyedUrl = `http://127.0.0.1:${(await keyed.app.start(0, '127.0.0.1')).port}/graphql`;
});

afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
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
