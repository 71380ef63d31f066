// The service over real sockets: graphql-ws and SSE clients, disconnects, probes, the playground, restarts.
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Engine } from '../src/engine/index.js';
import { readSseNextPayloads } from './support/readSseEvents.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-transport-');
const CHAT_STREAM = `subscription ($input: ChatInput!) { chatStream(input: $input) {
  __typename
  ... on ChatStarted { conversation { id } userMessage { id content sentiment { label display } } }
  ... on ChatToken { index text }
  ... on ChatDone { finishReason reply { id content status tokenCount } }
} }`;

type StreamEvent = { __typename: string; [key: string]: any };

let engine: Engine;
let service: SqliteTestService;
let baseUrl: string;
const clients: Client[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'transport.db'), engine);
  const address = await service.app.start(0, '127.0.0.1');
  baseUrl = `127.0.0.1:${address.port}`;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

afterAll(async () => {
  await service.app.stop();
  service.database.close();
  await engine.dispose();
  scratch.remove();
});

function wsClient(): Client {
  const client = createClient({ url: `ws://${baseUrl}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  clients.push(client);
  return client;
}

function storedMessages(conversationId: string) {
  return service.database.sqlite
    .prepare('select role, content, status from messages where conversation_id = ? order by created_at, id')
    .all(conversationId) as { role: string; content: string; status: string }[];
}

async function collectWs(input: Record<string, unknown>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const result of wsClient().iterate({ query: CHAT_STREAM, variables: { input } })) {
    expect(result.errors).toBeUndefined();
    events.push(result.data!.chatStream as StreamEvent);
  }
  return events;
}

/** Reads an SSE response (GraphQL over SSE, "distinct connections" mode) into its `next` payloads. */
async function collectSse(response: Response, onEvent?: (event: StreamEvent) => boolean | void): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const payload of readSseNextPayloads(response)) {
    const event = (payload as { data: { chatStream: StreamEvent } }).data.chatStream;
    events.push(event);
    if (onEvent?.(event) === false) break;
  }
  return events;
}

function expectWellFormedStream(events: StreamEvent[]): void {
  expect(events[0]!.__typename).toBe('ChatStarted');
  expect(events.at(-1)!.__typename).toBe('ChatDone');
  expect(events.filter((event) => event.__typename === 'ChatStarted')).toHaveLength(1);
  expect(events.filter((event) => event.__typename === 'ChatDone')).toHaveLength(1);
  const tokens = events.slice(1, -1);
  expect(tokens.every((event) => event.__typename === 'ChatToken')).toBe(true);
  expect(tokens.map((event) => event.index)).toEqual(tokens.map((_, index) => index));
  expect(tokens.map((event) => event.text).join('')).toBe(events.at(-1)!.reply.content);
}

describe('chatStream over graphql-ws', () => {
  it('sends ChatStarted with the sentiment, ordered tokens, then ChatDone with the stored reply', async () => {
    const events = await collectWs({ message: '今天好累，但是很开心', maxTokens: 16, temperature: 0 });
    expectWellFormedStream(events);
    expect(events[0]!.userMessage.sentiment.display).toMatch(/LLM 情感判断/);
    const conversationId = events[0]!.conversation.id;
    expect(storedMessages(conversationId)).toEqual([
      { role: 'user', content: '今天好累，但是很开心', status: 'complete' },
      { role: 'assistant', content: events.at(-1)!.reply.content, status: 'complete' },
    ]);
  });

  it('stops generation when the client unsubscribes and stores the partial reply as ABORTED', async () => {
    const subscription = wsClient().iterate({
      query: CHAT_STREAM,
      variables: { input: { message: 'talk a lot', maxTokens: 1500, temperature: 0, locale: 'EN' } },
    });
    let conversationId = '';
    let received = '';
    for await (const result of subscription) {
      const event = result.data!.chatStream as StreamEvent;
      if (event.__typename === 'ChatStarted') conversationId = event.conversation.id;
      if (event.__typename === 'ChatToken') received += event.text;
      if (received.length > 0 && event.__typename === 'ChatToken' && event.index >= 3) break;
    }
    await expect.poll(() => storedMessages(conversationId).length, { timeout: 5_000 }).toBe(2);
    const reply = storedMessages(conversationId)[1]!;
    expect(reply.status).toBe('aborted');
    expect(reply.content.startsWith(received)).toBe(true);
    expect(engine.status().runningJobs).toEqual([]);
  });

  it('ends the stream with a coded error for bad input', async () => {
    const iterate = async () => {
      for await (const result of wsClient().iterate({ query: CHAT_STREAM, variables: { input: { message: '  ' } } })) {
        expect(result.data).toBeUndefined();
      }
    };
    // graphql-ws delivers a failed subscription as an `error` message: the client throws its GraphQL errors.
    await expect(iterate()).rejects.toEqual([
      expect.objectContaining({ message: 'The message is empty.', extensions: { code: 'BAD_USER_INPUT' } }),
    ]);
  });

  it('runs queries and mutations over the socket too', async () => {
    const results = [];
    for await (const result of wsClient().iterate({ query: '{ sentiment(text: "hello", locale: EN) { display } }' }))
      results.push(result);
    expect((results[0]?.data as any)?.sentiment.display).toMatch(/LLM sentiment/);
  });
});

describe('chatStream failing after ChatStarted', () => {
  it('delivers the error on the stream and stores the partial reply as FAILED', async () => {
    const slowEngine = await loadTestEngine({ jobTimeoutMs: 400, contextSize: 4096 });
    const slow = createTestService(path.join(scratch.dir, 'slow-stream.db'), slowEngine);
    const address = await slow.app.start(0, '127.0.0.1');
    const client = createClient({
      url: `ws://127.0.0.1:${address.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    clients.push(client);
    const events: StreamEvent[] = [];
    const iterate = async () => {
      const input = { message: 'never ending', maxTokens: 3000, temperature: 0 };
      for await (const result of client.iterate({ query: CHAT_STREAM, variables: { input } }))
        events.push(result.data!.chatStream as StreamEvent);
    };
    try {
      await expect(iterate()).rejects.toEqual([expect.objectContaining({ extensions: { code: 'TIMEOUT' } })]);
      expect(events[0]!.__typename).toBe('ChatStarted');
      const stored = slow.database.sqlite
        .prepare(`select role, status from messages where conversation_id = ? order by created_at, id`)
        .all(events[0]!.conversation.id);
      expect(stored).toEqual([
        { role: 'user', status: 'complete' },
        { role: 'assistant', status: 'failed' },
      ]);
    } finally {
      await client.dispose();
      await slow.app.stop();
      slow.database.close();
      await slowEngine.dispose();
    }
  });
});

describe('chatStream over SSE', () => {
  const post = (input: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`http://${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: CHAT_STREAM, variables: { input } }),
      ...(signal ? { signal } : {}),
    });

  it('streams the same events as the WebSocket', async () => {
    const response = await post({ message: 'hello over SSE', maxTokens: 10, temperature: 0, locale: 'EN' });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expectWellFormedStream(await collectSse(response));
  });

  it('stores the partial reply as ABORTED when the client goes away', async () => {
    const controller = new AbortController();
    const response = await post({ message: 'a long one', maxTokens: 1500, temperature: 0 }, controller.signal);
    let conversationId = '';
    await collectSse(response, (event) => {
      if (event.__typename === 'ChatStarted') conversationId = event.conversation.id;
      if (event.__typename === 'ChatToken' && event.index >= 3) {
        controller.abort();
        return false;
      }
    }).catch(() => undefined);
    await expect
      .poll(() => storedMessages(conversationId).map((message) => message.status), { timeout: 5_000 })
      .toEqual(['complete', 'aborted']);
  });
});

describe('HTTP', () => {
  it('answers GET queries per GraphQL over HTTP', async () => {
    const response = await fetch(`http://${baseUrl}/graphql?query=${encodeURIComponent('{ engine { ready } }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { engine: { ready: true } } });
  });

  it('serves health and readiness probes', async () => {
    expect((await fetch(`http://${baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${baseUrl}/readyz`)).status).toBe(200);
    const loading = createTestService(path.join(scratch.dir, 'loading.db'), undefined);
    const address = await loading.app.start(0, '127.0.0.1');
    try {
      expect((await fetch(`http://127.0.0.1:${address.port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${address.port}/readyz`)).status).toBe(503);
    } finally {
      await loading.app.stop();
      loading.database.close();
    }
  });

  it('serves the GraphiQL playground without any CDN, subscribing over WebSocket', async () => {
    const response = await fetch(`http://${baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('<title>All-in-One</title>');
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/);
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/);
    expect(html).toMatch(/subscriptionsProtocol["']?\s*:\s*["']WS["']/);
  });
});

describe('persistence across a restart', () => {
  it('keeps conversations, messages and sentiments when the service is rebuilt on the same file', async () => {
    const databasePath = path.join(scratch.dir, 'restart.db');
    const first = createTestService(databasePath, engine);
    const created = await first.graphql(
      `mutation { chat(input: { message: "remember me", maxTokens: 4, temperature: 0 }) { conversation { id } reply { content } } }`,
    );
    const id = created.data!.chat.conversation.id;
    await first.app.stop();
    first.database.close();

    const second = createTestService(databasePath, engine);
    try {
      const body = await second.graphql(
        `query ($id: ID!) { conversation(id: $id) { messages { role content sentiment { label } } } }`,
        { id },
      );
      expect(body.data!.conversation.messages).toEqual([
        { role: 'USER', content: 'remember me', sentiment: { label: expect.stringMatching(/POSITIVE|NEGATIVE|NEUTRAL/) } },
        { role: 'ASSISTANT', content: created.data!.chat.reply.content, sentiment: null },
      ]);
    } finally {
      await second.app.stop();
      second.database.close();
    }
  });
});

describe('stopping the server', () => {
  it('closes open WebSockets with 1001 (going away)', async () => {
    const databasePath = path.join(scratch.dir, 'stop.db');
    const stopping = createTestService(databasePath, engine);
    const address = await stopping.app.start(0, '127.0.0.1');
    const socket = new WebSocket(`ws://127.0.0.1:${address.port}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await stopping.app.stop();
    expect(await closed).toBe(1001);
    stopping.database.close();
  });
});
