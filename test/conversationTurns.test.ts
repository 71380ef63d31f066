// Turns on one conversation, over real graphql-ws sockets: one at a time in arrival order, and a deletion stops the reply.
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Engine } from '../src/engine/index.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-turns-');
const CHAT_STREAM = `subscription ($input: ChatInput!) { chatStream(input: $input) {
  __typename
  ... on ChatStarted { conversation { id } userMessage { id content } }
  ... on ChatToken { text }
  ... on ChatDone { reply { id content status } }
} }`;

let engine: Engine;
let service: SqliteTestService;
let wsUrl: string;
const clients: Client[] = [];

beforeAll(async () => {
  engine = await loadTestEngine({ contextSize: 4096 });
  service = createTestService(path.join(scratch.dir, 'turns.db'), engine);
  const { port } = await service.app.start(0, '127.0.0.1');
  wsUrl = `ws://127.0.0.1:${port}/graphql`;
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

function client(): Client {
  const created = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(created);
  return created;
}

function stored(conversationId: string) {
  return service.database.sqlite
    .prepare('select role, content, status from messages where conversation_id = ? order by created_at, id')
    .all(conversationId) as { role: string; content: string; status: string }[];
}

async function newConversation(): Promise<string> {
  const body = await service.graphql(
    'mutation { chat(input: { message: "first", maxTokens: 2, temperature: 0 }) { conversation { id } } }',
  );
  return body.data!.chat.conversation.id as string;
}

describe('turns on one conversation', () => {
  it('run one at a time, in the order they arrived: each reply follows its own message, and sees the turns before it', async () => {
    const conversationId = await newConversation();
    // Three clients at once, each on its own socket; every turn's reply is long enough to overlap the others.
    const messages = ['second', 'third', 'fourth'];
    const turns = messages.map(async (message) => {
      const events: { __typename: string; userMessage?: { content: string }; reply?: { content: string } }[] = [];
      for await (const result of client().iterate({
        query: CHAT_STREAM,
        variables: { input: { conversationId, message, maxTokens: 24, temperature: 0 } },
      })) {
        expect(result.errors).toBeUndefined();
        events.push(result.data!.chatStream as (typeof events)[number]);
      }
      return events;
    });
    const finished = await Promise.all(turns);
    const rows = stored(conversationId);
    expect(rows.map((row) => row.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    // Each stream's reply is the message right after its own user message.
    for (const events of finished) {
      const user = events[0]!.userMessage!.content;
      const reply = events.at(-1)!.reply!.content;
      const at = rows.findIndex((row) => row.role === 'user' && row.content === user);
      expect(rows[at + 1]).toEqual({ role: 'assistant', content: reply, status: 'complete' });
    }
    expect(new Set(rows.filter((row) => row.role === 'user').map((row) => row.content))).toEqual(
      new Set(['first', ...messages]),
    );
  });

  it('stops a reply within a token or two when its conversation is deleted, and drops nothing else', async () => {
    const conversationId = await newConversation();
    const other = await newConversation();
    const events: string[] = [];
    let tokensAtDelete = -1;
    let failure: { extensions?: { code?: string }; message: string } | undefined;
    const stream = (async () => {
      try {
        for await (const result of client().iterate({
          query: CHAT_STREAM,
          variables: { input: { conversationId, message: 'a long answer, please', maxTokens: 3000, temperature: 0 } },
        })) {
          if (result.errors) {
            failure = result.errors[0] as typeof failure;
            continue;
          }
          const event = result.data!.chatStream as { __typename: string };
          events.push(event.__typename);
          if (event.__typename === 'ChatToken' && events.length === 4) {
            tokensAtDelete = events.length;
            const deleted = await service.graphql(`mutation { deleteConversation(id: "${conversationId}") }`);
            expect(deleted.data).toEqual({ deleteConversation: true });
          }
        }
      } catch (error) {
        failure = (Array.isArray(error) ? error[0] : error) as typeof failure;
      }
    })();
    await stream;
    expect(failure?.extensions?.code).toBe('NOT_FOUND');
    expect(failure?.message).toMatch(/was deleted while its reply was being written/);
    // The reply stopped at once, far short of its 3,000 tokens: a few deltas may already have been on the way.
    expect(events.length - tokensAtDelete).toBeLessThan(8);
    expect(events).not.toContain('ChatDone');
    expect(engine.status().runningJobs).toEqual([]);
    expect(stored(conversationId)).toEqual([]);
    expect(stored(other).map((row) => row.role)).toEqual(['user', 'assistant']);
  });
});
