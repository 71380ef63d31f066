// Graceful shutdown: in-process (the order of its steps) and on the real process with SIGTERM and SIGINT.
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import WebSocket from 'ws';
import { openSqlite } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { createShutdown } from '../src/shutdown.js';
import { startService, stopProcess, type ServiceProcess } from './support/serviceProcess.js';
import { createScratchDir, createTestService, loadTestEngine } from './support/testApp.js';

const scratch = createScratchDir('aio-shutdown-');
const API_KEY = 'shutdown-secret-key-0123456789';
const CHAT_STREAM = `subscription ($input: ChatInput!) { chatStream(input: $input) {
  __typename ... on ChatStarted { conversation { id } } ... on ChatToken { text } } }`;

type Closer = () => Promise<unknown> | unknown;

/**
 * What a test opens, closed when that test finishes. Per test rather than in `afterEach`: the process tests run
 * concurrently, and one test's `afterEach` would close what the other still uses.
 */
function leftoversOf({ onTestFinished }: TestContext): Closer[] {
  const leftovers: Closer[] = [];
  onTestFinished(async () => {
    for (const close of leftovers.splice(0).reverse()) await close();
  });
  return leftovers;
}

afterAll(() => scratch.remove());

type Happening =
  | { type: 'started'; conversationId: string }
  | { type: 'token'; text: string }
  | { type: 'error'; code: string }
  | { type: 'complete' }
  | { type: 'closed'; code: number };

/** A long chat stream over graphql-ws that records everything that happens to it, in order. */
function watchLongStream(leftovers: Closer[], url: string, connectionParams?: Record<string, unknown>) {
  const happenings: Happening[] = [];
  let onHappening = (): void => undefined;
  const client: Client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    // Not lazy: the client keeps its socket after the stream ends, so the server's close code shows.
    lazy: false,
    // The close is expected and recorded below, not an error to print.
    onNonLazyError: () => undefined,
    ...(connectionParams ? { connectionParams } : {}),
    on: { closed: (event) => record({ type: 'closed', code: (event as { code: number }).code }) },
  });
  leftovers.push(() => client.dispose());
  const record = (happening: Happening): void => {
    happenings.push(happening);
    onHappening();
  };
  client.subscribe(
    {
      query: CHAT_STREAM,
      variables: { input: { message: 'tell me a very long story', maxTokens: 3000, temperature: 0, locale: 'EN' } },
    },
    {
      next: ({ data }) => {
        const event = (data as any).chatStream;
        record(
          event.__typename === 'ChatStarted'
            ? { type: 'started', conversationId: event.conversation.id }
            : { type: 'token', text: event.text },
        );
      },
      error: (error) =>
        record({ type: 'error', code: Array.isArray(error) ? String(error[0]?.extensions?.code) : 'CLOSED' }),
      complete: () => record({ type: 'complete' }),
    },
  );
  /** Resolves once `predicate` holds for what has happened so far, or the connection has closed. */
  const until = (predicate: (happenings: Happening[]) => boolean) =>
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (predicate(happenings) || happenings.some((happening) => happening.type === 'closed')) resolve();
      };
      onHappening = check;
      check();
    });
  const received = () => happenings.flatMap((happening) => (happening.type === 'token' ? [happening.text] : [])).join('');
  const conversationId = () =>
    happenings.find((happening) => happening.type === 'started')?.['conversationId' as never] as unknown as string;
  return { happenings, until, received, conversationId };
}

/** Enough tokens, or the end of the stream (so a stream that fails early fails the test instead of hanging it). */
const tokensAtLeast = (count: number) => (happenings: Happening[]) =>
  happenings.filter((happening) => happening.type === 'token').length >= count ||
  happenings.some((happening) => happening.type === 'error' || happening.type === 'complete');

function expectStreaming(stream: { happenings: Happening[] }): void {
  expect(
    stream.happenings.filter((happening) => happening.type !== 'token'),
    'the stream should still be running',
  ).toEqual([{ type: 'started', conversationId: expect.any(String) }]);
}

function storedMessages(databasePath: string, conversationId: string) {
  const database = openSqlite({ path: databasePath, readonly: true });
  try {
    return database.sqlite
      .prepare('select role, content, status from messages where conversation_id = ? order by created_at, id')
      .all(conversationId) as { role: string; content: string; status: string }[];
  } finally {
    database.close();
  }
}

describe('shutdown, in-process', () => {
  it('fails readiness and refuses new work first, then stops running streams and stores them, then closes sockets (1001) and the database', async (context) => {
    const leftovers = leftoversOf(context);
    const engine = await loadTestEngine({ contextSize: 4096 });
    leftovers.push(() => engine.dispose());
    const databasePath = path.join(scratch.dir, 'in-process.db');
    const service = createTestService(databasePath, engine);
    leftovers.push(() => service.database.close());
    const address = await service.app.start(0, '127.0.0.1');
    leftovers.push(() => service.app.stop());
    const stream = watchLongStream(leftovers, `ws://127.0.0.1:${address.port}/graphql`);
    await stream.until(tokensAtLeast(3));
    expectStreaming(stream);

    const shutdown = createShutdown({
      ...service,
      database: service.repository,
      engineHolder: service.engine,
      logger: createLogger('silent'),
    });
    const done = shutdown('test');
    // Before anything else has happened: not ready, and engine work is refused.
    expect(await service.services.health.notReadyReason()).toBe('the model is not loaded');
    const refused = await service.graphql('{ sentiment(text: "still there?") { id } }');
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['MODEL_UNAVAILABLE']);
    await done;
    expect(shutdown('again')).toBe(done);

    await stream.until((happenings) => happenings.some((happening) => happening.type === 'closed'));
    const ending = stream.happenings.filter((happening) => happening.type !== 'token' && happening.type !== 'started');
    // The stream is told why it ended before its socket goes away.
    expect(ending).toEqual([
      { type: 'error', code: 'MODEL_UNAVAILABLE' },
      { type: 'closed', code: 1001 },
    ]);
    expect(service.database.sqlite.open).toBe(false);
    const [user, reply] = storedMessages(databasePath, stream.conversationId());
    expect(user).toMatchObject({ role: 'user', status: 'complete' });
    expect(reply).toMatchObject({ role: 'assistant', status: 'aborted' });
    expect(reply!.content.startsWith(stream.received())).toBe(true);
  });
});

describe.concurrent('shutdown of the real process', () => {
  it('on SIGTERM mid-stream: stores the partial reply, closes the WebSocket with 1001, exits 0, never logs the key', async (context) => {
    const leftovers = leftoversOf(context);
    const databasePath = path.join(scratch.dir, 'sigterm.db');
    const service: ServiceProcess = await startService({
      DATABASE_PATH: databasePath,
      API_KEYS: API_KEY,
      CONTEXT_SIZE: '4096',
    });
    leftovers.push(() => stopProcess(service));
    const unauthenticated = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-key-0123456789' },
      body: '{"query":"{ __typename }"}',
    });
    expect(unauthenticated.status).toBe(401);
    const stream = watchLongStream(leftovers, service.wsUrl, { authorization: `Bearer ${API_KEY}` });
    await stream.until(tokensAtLeast(3));
    expectStreaming(stream);

    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    await stream.until((happenings) => happenings.some((happening) => happening.type === 'closed'));
    expect(stream.happenings.find((happening) => happening.type === 'closed')).toEqual({ type: 'closed', code: 1001 });
    const [, reply] = storedMessages(databasePath, stream.conversationId());
    expect(reply).toMatchObject({ role: 'assistant', status: 'aborted' });
    expect(reply!.content.startsWith(stream.received())).toBe(true);
    const steps = service.logs().map((line) => line.msg);
    const order = [
      'shutting down: not ready, refusing new work',
      'running turns stopped, partial replies stored',
      'stopped',
    ];
    expect(steps.filter((step) => order.includes(step!))).toEqual(order);
    expect(
      service.logs().find((line) => line.msg === 'running turns stopped, partial replies stored')?.['stoppedTurns'],
    ).toBe(1);
    expect(service.stdout() + service.stderr()).not.toContain(API_KEY);
    expect(service.logs().map((line) => line.msg)).not.toContain(
      'API_KEYS is not set: anyone who can reach this address may call the API',
    );
    expect(service.stderr()).not.toMatch(/^\s+at /m);
  });

  it('on SIGTERM mid-job: stores what it finished, gives the other items back, exits 0; a restart finishes the job', async (context) => {
    const leftovers = leftoversOf(context);
    const databasePath = path.join(scratch.dir, 'sigterm-job.db');
    const first = await startService({ DATABASE_PATH: databasePath });
    leftovers.push(() => stopProcess(first));
    const graphql = async (service: ServiceProcess, query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data: Record<string, any>; errors?: unknown[] };
      expect(body.errors).toBeUndefined();
      return body.data;
    };
    const progress = async (service: ServiceProcess, id: string) =>
      (await graphql(service, 'query ($id: ID!) { analysisJob(id: $id) { status processed } }', { id })).analysisJob as {
        status: string;
        processed: number;
      };
    const { createAnalysisJob: job } = await graphql(first, 'mutation { createAnalysisJob(input: { tasks: ["sentiment"] }) { id } }', {});
    const items = Array.from({ length: 300 }, (_, index) => ({ text: `Item ${index}: it does the job.` }));
    await graphql(first, 'mutation ($id: ID!, $items: [AnalysisItemInput!]!) { addAnalysisItems(jobId: $id, items: $items) { total } }', {
      id: job.id,
      items,
    });
    await graphql(first, 'mutation ($id: ID!) { startAnalysisJob(id: $id) { status } }', { id: job.id });
    await context.expect.poll(async () => (await progress(first, job.id)).processed, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const steps = first.logs().map((line) => line.msg);
    const order = ['shutting down: not ready, refusing new work', 'analysis job items stopped and given back', 'stopped'];
    expect(steps.filter((step) => order.includes(step!))).toEqual(order);
    // Read-only, so opening the file gives no lease back itself: the process did, before it exited.
    const database = openSqlite({ path: databasePath, readonly: true });
    const [counts] = database.sqlite
      .prepare(
        `select (select processed from analysis_jobs where id = ?) as processed,
           (select count(*) from analysis_items where job_id = ? and status <> 'pending') as finished,
           (select count(*) from analysis_items where job_id = ? and lease_owner is not null) as leased,
           (select count(*) from task_results where job_id = ?) as results`,
      )
      .all(job.id, job.id, job.id, job.id) as { processed: number; finished: number; leased: number; results: number }[];
    database.close();
    expect(counts!.processed).toBeLessThan(300);
    expect(counts).toEqual({ processed: counts!.processed, finished: counts!.processed, leased: 0, results: counts!.processed });

    const second = await startService({ DATABASE_PATH: databasePath });
    leftovers.push(() => stopProcess(second));
    await context.expect.poll(async () => (await progress(second, job.id)).status, { timeout: 60_000 }).toBe('DONE');
    expect(await progress(second, job.id)).toEqual({ status: 'DONE', processed: 300 });
  });

  it('on SIGINT while idle: exits 0 (and, without API_KEYS, the log says the API is open)', async (context) => {
    const leftovers = leftoversOf(context);
    const service = await startService({ DATABASE_PATH: path.join(scratch.dir, 'sigint.db') });
    leftovers.push(() => stopProcess(service));
    // Logged just after `ready`, which may have arrived in an earlier chunk of stdout.
    // (A concurrent test polls through its own context's `expect`.)
    await context.expect
      .poll(() => service.logs().map((line) => line.msg))
      .toContain('API_KEYS is not set: anyone who can reach this address may call the API');
    service.child.kill('SIGINT');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.logs().at(-1)?.msg).toBe('stopped');
  });
});
