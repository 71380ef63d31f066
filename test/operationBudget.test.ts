// One operation, one client's share: fair turns while jobs run (batches, aliases, extractions), the budget per
// operation, and no engine work or stored result for an operation whose answer is already final. Real engine on
// the tiny model, real SQLite; every assertion is about order or stored rows, never about speed.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import { createScratchDir, createTestService, loadTestEngine, type GraphQLBody, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-operation-budget-');
const KEY_A = 'operation-budget-key-a-0123456789';
const KEY_B = 'operation-budget-key-b-0123456789';
let engine: Engine;
const leftovers: (() => unknown)[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
});

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  await engine.dispose();
  scratch.remove();
});

function serviceWith(name: string, env: Record<string, string> = {}): SqliteTestService {
  const service = createTestService(`${scratch.dir}/${name}.db`, engine, env);
  leftovers.push(() => service.repository.close());
  return service;
}

/** Sends an operation as `key` (none: anonymous) and returns the body. */
async function send(service: SqliteTestService, query: string, key?: string): Promise<GraphQLBody> {
  const response = await service.app.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as GraphQLBody;
}

/** Long enough that a batch of 32 takes many decodes on the tiny model, short enough for any prompt. */
const REVIEW = 'The delivery came two days late and the box was damaged, but support replied quickly and kindly. '.repeat(3);
const BATCH = `{ sentiments(texts: ${JSON.stringify(Array.from({ length: 32 }, (_, index) => `${index}: ${REVIEW}`))}) { label } }`;
const SHORT = '{ sentiment(text: "I love it") { label } }';

/** Stored sentiments, or stored results of the other tasks (all live in task_results). */
function count(service: SqliteTestService, results: 'sentiments' | 'task_results'): number {
  const which = results === 'sentiments' ? "task = 'sentiment'" : "task <> 'sentiment'";
  return (service.database.sqlite.prepare(`select count(*) as n from task_results where ${which}`).get() as { n: number }).n;
}

async function engineIdle(): Promise<void> {
  await vi.waitFor(() => expect(engine.status()).toMatchObject({ queueDepth: 0, runningJobs: [] }), { timeout: 30_000 });
}

/** Resolves in completion order, tagging each result with its name. */
function recordOrder(order: string[], name: string, body: Promise<GraphQLBody>): Promise<GraphQLBody> {
  return body.then((result) => {
    order.push(name);
    return result;
  });
}

async function whileBatchesRun(service: SqliteTestService, batches: number, key?: string) {
  const order: string[] = [];
  const flood = Array.from({ length: batches }, (_, index) => recordOrder(order, `A${index}`, send(service, BATCH, key)));
  // A batch of many texts is a long job: one runs, the rest wait, and a task sequence stays free for short queries.
  await vi.waitFor(() => expect(engine.status()).toMatchObject({ runningJobs: ['sentiment-batch'], queueDepth: batches - 1 }));
  return { order, flood };
}

describe('fair shares while jobs run', () => {
  it("answers key B's one sentiment while key A's batches run, before any of them ends (batches leave a task sequence free)", async () => {
    const service = serviceWith('keys', { API_KEYS: `${KEY_A},${KEY_B}` });
    const { order, flood } = await whileBatchesRun(service, 4, KEY_A);
    const single = await recordOrder(order, 'B', send(service, SHORT, KEY_B));
    expect(single.errors).toBeUndefined();
    const batches = await Promise.all(flood);
    for (const batch of batches) expect(batch.data?.['sentiments']).toHaveLength(32);
    expect(order[0]).toBe('B');
  });

  it("without API keys, answers one client's sentiment while another operation's batches run (each operation its own turn)", async () => {
    const service = serviceWith('anonymous');
    const { order, flood } = await whileBatchesRun(service, 4);
    await recordOrder(order, 'B', send(service, SHORT));
    await Promise.all(flood);
    expect(order[0]).toBe('B');
  });

  it("runs one operation's aliased fields one at a time as one share: another client's query is answered first", async () => {
    const service = serviceWith('aliases');
    const aliases = Array.from({ length: 15 }, (_, index) => `e${index}: extract(task: "keywords", text: ${JSON.stringify(REVIEW)}) { id }`);
    const order: string[] = [];
    const flood = recordOrder(order, 'flood', send(service, `{ ${aliases.join(' ')} }`));
    await vi.waitFor(() => expect(engine.status().runningJobs).toContain('extract'));
    // One extraction at a time: the flood never holds both task sequences, nor fills the queue.
    expect(engine.status().runningJobs.filter((kind) => kind === 'extract')).toHaveLength(1);
    expect(engine.status().queueDepth).toBe(0);
    const single = await recordOrder(order, 'B', send(service, SHORT));
    expect(single.errors).toBeUndefined();
    const flooded = await flood;
    expect(flooded.errors).toBeUndefined();
    expect(Object.keys(flooded.data ?? {})).toHaveLength(15);
    expect(order).toEqual(['B', 'flood']);
  });
});

describe("an operation's budget and end", () => {
  it('refuses an operation that asks for more texts than MAX_OPERATION_TEXTS, and stores none of it', async () => {
    const service = serviceWith('budget');
    const batch = (alias: string) => `${alias}: ${BATCH.slice(2, -2)}`;
    const body = await send(service, `{ ${batch('a')} ${batch('b')} ${batch('c')} }`);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toContain('the limit per operation is 64');
    await engineIdle();
    expect(count(service, 'sentiments')).toBe(0);
  });

  it('cancels the rest of an operation whose result is final, and stores nothing it did not return', async () => {
    const service = serviceWith('orphans');
    const aliases = Array.from({ length: 10 }, (_, index) => `a${index}: classify(task: "intent", text: "Where is my parcel? ${index}") { id }`);
    const body = await send(service, `{ bad: classify(task: "nope", text: "x") { id } ${aliases.join(' ')} }`);
    // `bad` fails and, being non-null, nulls the whole answer: the ten others can reach nobody.
    expect(body.data).toBeNull();
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    await engineIdle();
    expect(count(service, 'task_results')).toBe(0);
  });

  it('still stores every result of an operation that succeeds, aliases and batches together', async () => {
    const service = serviceWith('whole');
    const body = await send(
      service,
      `{ one: sentiment(text: "fine") { id } many: sentiments(texts: ["a", "b", "c"]) { id } intent: classify(task: "intent", text: "refund please") { id } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(count(service, 'sentiments')).toBe(4);
    expect(count(service, 'task_results')).toBe(1);
  });
});
