// API keys over real sockets (HTTP, SSE, graphql-ws) and what each key may see; the keyring and its config.
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import type { Engine } from '../src/engine/index.js';
import { createApiKeyring, fingerprintOf } from '../src/security/apiKeys.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';
const scratch = createScratchDir('aio-auth-');
const clients: Client[] = [];
let engine: Engine;
let service: SqliteTestService;
let baseUrl: string;

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'auth.db'), engine, { API_KEYS: `${KEY_A}, ${KEY_B}` });
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

async function post(query: string, options: { key?: string; authorization?: string; variables?: object } = {}) {
  const authorization = options.authorization ?? (options.key ? `Bearer ${options.key}` : undefined);
  const response = await fetch(`http://${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { data?: any; errors?: any[] },
  };
}

function wsClient(connectionParams?: Record<string, unknown>): Client {
  const client = createClient({
    url: `ws://${baseUrl}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(connectionParams ? { connectionParams } : {}),
  });
  clients.push(client);
  return client;
}

/** The first result of an operation over graphql-ws, or what the client threw (a close event or errors). */
async function firstOverWs(client: Client, query: string, variables?: Record<string, unknown>): Promise<any> {
  try {
    for await (const result of client.iterate({ query, ...(variables ? { variables } : {}) })) return result;
  } catch (error) {
    return { thrown: error };
  }
}

describe('HTTP and SSE', () => {
  it.each([
    ['no Authorization header', undefined],
    ['an unknown key', 'Bearer key-c-not-configured-000'],
    ['a known key under another scheme', `Basic ${KEY_A}`],
    ['a prefix of a known key', `Bearer ${KEY_A.slice(0, -1)}`],
    ['a known key with more after it', `Bearer ${KEY_A}x`],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 UNAUTHENTICATED for %s', async (_, authorization) => {
    const result = await post('{ engine { ready } }', authorization === undefined ? {} : { authorization });
    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toBe('Bearer');
    expect(result.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })]);
    expect(result.body.data).toBeUndefined();
  });

  it('serves a request with a configured key (the scheme is case-insensitive)', async () => {
    expect((await post('{ engine { ready } }', { key: KEY_A })).body).toEqual({ data: { engine: { ready: true } } });
    expect((await post('{ engine { ready } }', { authorization: `bearer ${KEY_B}` })).status).toBe(200);
  });

  it('keeps the probes open and lets the playground page load, but not its queries', async () => {
    expect((await fetch(`http://${baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${baseUrl}/readyz`)).status).toBe(200);
    const page = await fetch(`http://${baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>All-in-One</title>');
    const query = await fetch(`http://${baseUrl}/graphql?query=${encodeURIComponent('{ engine { ready } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(query.status).toBe(401);
  });

  it('needs the header for an SSE subscription too', async () => {
    const subscribe = (headers: Record<string, string>) =>
      fetch(`http://${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({
          query: 'subscription { chatStream(input: { message: "hi", maxTokens: 2 }) { __typename } }',
        }),
      });
    const refused = await subscribe({});
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    const served = await subscribe({ authorization: `Bearer ${KEY_A}` });
    expect(served.status).toBe(200);
    const text = await served.text();
    expect(text).toContain('ChatStarted');
    expect(text).toContain('ChatDone');
  });
});

describe('graphql-ws', () => {
  it.each([
    ['no connection_init payload', undefined],
    ['a payload without the key', { token: KEY_A }],
    ['an unknown key', { authorization: 'Bearer key-c-not-configured-000' }],
  ])('closes the socket with 4403 for %s', async (_, params) => {
    const result = await firstOverWs(wsClient(params), '{ engine { ready } }');
    expect(result.thrown).toMatchObject({ code: 4403 });
  });

  it('serves a connection whose connection_init carries a key', async () => {
    const result = await firstOverWs(wsClient({ authorization: `Bearer ${KEY_B}` }), '{ engine { ready } }');
    expect(result).toEqual({ data: { engine: { ready: true } } });
  });
});

describe('ownership', () => {
  it('shows a conversation only to the key that created it, over HTTP and graphql-ws', async () => {
    const created = await post(
      'mutation { chat(input: { message: "mine, not yours", maxTokens: 2, temperature: 0 }) { conversation { id } } }',
      { key: KEY_A },
    );
    const id = created.body.data.chat.conversation.id as string;

    const asOwner = await post('query ($id: ID!) { conversation(id: $id) { id } }', { key: KEY_A, variables: { id } });
    expect(asOwner.body.data.conversation).toEqual({ id });
    // To another key it is exactly like a conversation that does not exist.
    const asOther = await post('query ($id: ID!) { conversation(id: $id) { id } }', { key: KEY_B, variables: { id } });
    expect(asOther.body).toEqual({ data: { conversation: null } });
    const overWs = await firstOverWs(
      wsClient({ authorization: `Bearer ${KEY_B}` }),
      'query ($id: ID!) { conversation(id: $id) { id } }',
      { id },
    );
    expect(overWs).toEqual({ data: { conversation: null } });
    const continued = await post(
      'mutation ($id: ID!) { chat(input: { conversationId: $id, message: "let me in" }) { reply { id } } }',
      { key: KEY_B, variables: { id } },
    );
    expect(continued.body.errors?.map((error) => error.extensions.code)).toEqual(['NOT_FOUND']);
    const deleted = await post('mutation ($id: ID!) { deleteConversation(id: $id) }', { key: KEY_B, variables: { id } });
    expect(deleted.body.errors?.map((error) => error.extensions.code)).toEqual(['NOT_FOUND']);
    const listed = await post('{ conversations(first: 100) { edges { node { id } } } }', { key: KEY_B });
    expect(listed.body.data.conversations.edges.map((edge: any) => edge.node.id)).not.toContain(id);
    const listedByOwner = await post('{ conversations(first: 100) { edges { node { id } } } }', { key: KEY_A });
    expect(listedByOwner.body.data.conversations.edges.map((edge: any) => edge.node.id)).toContain(id);
    // The other key's failed attempts stored nothing in the conversation.
    const messages = service.database.sqlite.prepare('select content from messages where conversation_id = ?').all(id);
    expect(messages.map((row: any) => row.content)).not.toContain('let me in');
  });

  it('counts only the asking key’s records in sentimentStats', async () => {
    await post('{ sentiments(texts: ["one", "two", "three"], locale: EN) { id } }', { key: KEY_B });
    const count = (key: string) =>
      (
        service.database.sqlite.prepare("select count(*) as n from task_results where task = 'sentiment' and owner = ?").get(fingerprintOf(key)) as {
          n: number;
        }
      ).n;
    const statsA = await post('{ sentimentStats { total } }', { key: KEY_A });
    const statsB = await post('{ sentimentStats { total } }', { key: KEY_B });
    expect(statsA.body.data.sentimentStats.total).toBe(count(KEY_A));
    expect(statsB.body.data.sentimentStats.total).toBe(count(KEY_B));
    expect(count(KEY_B)).toBeGreaterThanOrEqual(3);
  });

  it('stores a fingerprint of the key as the owner, never the key', async () => {
    const owners = service.database.sqlite
      .prepare('select owner from conversations union select owner from task_results')
      .all()
      .map((row: any) => row.owner);
    expect(owners.length).toBeGreaterThan(0);
    for (const owner of owners) expect([fingerprintOf(KEY_A), fingerprintOf(KEY_B)]).toContain(owner);
    expect(JSON.stringify(owners)).not.toMatch(/key-[ab]-/);
  });
});

describe('keyring and API_KEYS', () => {
  it('lets everyone in as no owner when no keys are configured', () => {
    const open = createApiKeyring([]);
    expect(open.enabled).toBe(false);
    expect(open.ownerOf(undefined)).toBeNull();
    expect(loadConfig({}).http.apiKeys).toEqual([]);
  });

  it('maps each key to its own stable fingerprint', () => {
    const keyring = createApiKeyring([KEY_A, KEY_B]);
    expect(keyring.ownerOf(`Bearer ${KEY_A}`)).toBe(fingerprintOf(KEY_A));
    expect(keyring.ownerOf(`Bearer ${KEY_B}`)).toBe(fingerprintOf(KEY_B));
    expect(fingerprintOf(KEY_A)).not.toBe(fingerprintOf(KEY_B));
    expect(fingerprintOf(KEY_A)).toMatch(/^[0-9a-f]{24}$/);
    expect(keyring.ownerOf(['Bearer', KEY_A])).toBeUndefined();
  });

  it('refuses a weak key by its position, never echoing it', () => {
    const load = () => loadConfig({ API_KEYS: `${KEY_A},hunter2` });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/API_KEYS: entry #2 must be at least 16/);
    try {
      load();
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
      expect(String(error)).not.toContain(KEY_A);
    }
  });
});
