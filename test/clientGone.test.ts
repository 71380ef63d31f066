// A client that vanishes mid-stream without a word (its TCP connection destroyed): generation stops, the partial
// reply is stored ABORTED, and the engine serves the next job at once. (Unsubscribing and SSE aborts: transport.test.ts.)
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Engine } from '../src/engine/index.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-client-gone-');
let engine: Engine;
let service: SqliteTestService;
let wsUrl: string;

beforeAll(async () => {
  engine = await loadTestEngine({ contextSize: 4096 });
  service = createTestService(path.join(scratch.dir, 'client-gone.db'), engine);
  const address = await service.app.start(0, '127.0.0.1');
  wsUrl = `ws://127.0.0.1:${address.port}/graphql`;
});

afterAll(async () => {
  await service.app.stop();
  service.database.close();
  await engine.dispose();
  scratch.remove();
});

describe('a client gone mid-stream', () => {
  it('stops generating when its socket is destroyed, stores the partial reply ABORTED, and frees the engine', async () => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const received: { conversationId?: string; text: string; tokens: number } = { text: '', tokens: 0 };
    const enoughTokens = new Promise<void>((resolve) => {
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; payload?: any };
        if (message.type === 'connection_ack') {
          const input = { message: 'go on forever', maxTokens: 3000, temperature: 0, locale: 'EN' };
          const query =
            'subscription ($input: ChatInput!) { chatStream(input: $input) { __typename ... on ChatStarted { conversation { id } } ... on ChatToken { text } } }';
          socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query, variables: { input } } }));
        }
        const event = message.payload?.data?.chatStream;
        if (event?.__typename === 'ChatStarted') received.conversationId = event.conversation.id;
        if (event?.__typename === 'ChatToken') {
          received.text += event.text;
          received.tokens += 1;
          if (received.tokens === 3) resolve();
        }
      });
    });
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await enoughTokens;
    // No close frame, no `complete`: the connection simply disappears.
    socket.terminate();

    const reply = () =>
      service.database.sqlite
        .prepare(
          `select content, status, finish_reason as finishReason, token_count as tokens from messages where conversation_id = ? and role = 'assistant'`,
        )
        .get(received.conversationId) as
        { content: string; status: string; finishReason: string; tokens: number } | undefined;
    await expect.poll(() => reply()?.status, { timeout: 10_000 }).toBe('aborted');
    expect(reply()!.finishReason).toBe('aborted');
    expect(reply()!.content.startsWith(received.text)).toBe(true);
    expect(reply()!.tokens).toBeLessThan(3000);
    expect(engine.status().runningJobs).toEqual([]);
    const next = await service.graphql('{ sentiment(text: "next, please", locale: EN) { label } }');
    expect(next.errors).toBeUndefined();
  });
});
