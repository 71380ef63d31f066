// Two replicas of the real service on one real PostgreSQL, behind the shipped nginx configuration, all on loopback:
// clients chat through nginx over HTTP and graphql-ws, one replica is killed with SIGKILL mid-stream, its clients
// fail clearly and succeed on retry, and afterwards nothing acknowledged is missing, every conversation is in order
// and the statistics equal the rows stored.
// `npm test` runs a short version; `npm run test:reliability` (RELIABILITY=full) the full one (32 clients, a minute),
// writing its figures to .tmp/reliability/replicas.json.
// And two replicas sharing one analysis job: both store items of it, one is killed mid-job, the other finishes it
// with exactly one result per item and task.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import os from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { expectEachItemOnce, startJobThroughApi, waitForJob } from './support/analysisJobs.js';
import { createDatabase, type TestDatabase } from './support/dialects.js';
import { findNginx, startNginx, type NginxServer } from './support/nginxServer.js';
import { createTestDatabase, freePort } from './support/postgresServer.js';
import { startService, stopProcess, type ServiceProcess } from './support/serviceProcess.js';

const FULL = process.env['RELIABILITY'] === 'full';
const CLIENTS = FULL ? 32 : 8;
const RUN_MS = FULL ? 60_000 : 14_000;
/** When the kill comes, as a share of the run. */
const KILL_AT = 0.5;
const MAX_TOKENS = 24;
const ATTEMPTS_PER_TURN = 6;
/** ENGINE_BUSY back-offs one client may take in a run: bounded, so a wedged service fails the test. */
const MAX_BUSY_RETRIES = 200;

/** The service's answer to "the queue is full": retry after the hint. */
class EngineBusy extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`ENGINE_BUSY, retry after ${retryAfterMs} ms`);
  }
}

type GraphQLErrors = { message: string; extensions?: { code?: string; retryAfterMs?: number } }[];

function busyIn(
  errors: GraphQLErrors | readonly { extensions?: Record<string, unknown> }[] | undefined,
): EngineBusy | undefined {
  const busy = errors?.find((error) => error.extensions?.['code'] === 'ENGINE_BUSY');
  if (!busy) return undefined;
  const hint = Number(busy.extensions?.['retryAfterMs']);
  return new EngineBusy(Number.isFinite(hint) && hint > 0 ? hint : 250);
}
const adminUrl = inject('postgresAdminUrl');
const nginxBin = findNginx();

interface Acknowledged {
  id: string;
  role: 'USER' | 'ASSISTANT';
  content: string;
}

interface ClientRecord {
  key: string;
  conversationId: string | null;
  /** Every message a response reported as stored, in the order the client saw them. */
  acknowledged: Acknowledged[];
  turns: number;
  failures: string[];
  /** ENGINE_BUSY answers, each waited out as its retryAfterMs says (the documented back-off, not a failure). */
  busy: number;
  /** Failed attempts that a later attempt of the same turn made good. */
  recovered: number;
  latenciesMs: number[];
}

const CHAT = `mutation ($input: ChatInput!) {
  chat(input: $input) { conversation { id } userMessage { id content } reply { id content status } }
}`;
const CHAT_STREAM = `subscription ($input: ChatInput!) {
  chatStream(input: $input) {
    __typename
    ... on ChatStarted { conversation { id } userMessage { id content } }
    ... on ChatToken { text }
    ... on ChatDone { reply { id content status } }
  }
}`;

describe.skipIf(!adminUrl || !nginxBin)('several replicas behind nginx on one PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  const replicas: ServiceProcess[] = [];
  let nginx: NginxServer;
  const keys = Array.from({ length: CLIENTS }, () => randomBytes(16).toString('hex'));

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl, 'aio_replicas');
    const ports = [await freePort(), await freePort()];
    const started = await Promise.all(
      ports.map((port, index) =>
        startService({
          DATABASE_URL: database.url,
          PORT: String(port),
          REPLICA_NAME: `replica-${index + 1}`,
          API_KEYS: keys.join(','),
          // Room for every client on one replica once the other is gone: a full queue would refuse them (ENGINE_BUSY).
          MAX_QUEUE: String(CLIENTS * 2),
        }),
      ),
    );
    replicas.push(...started);
    nginx = await startNginx(
      nginxBin!,
      ports.map((port) => `127.0.0.1:${port}`),
    );
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(replicas.map((replica) => stopProcess(replica)));
    await database?.drop();
  });

  it(
    `${CLIENTS} clients chat through nginx; kill -9 of the replica holding a stream loses nothing acknowledged`,
    { timeout: RUN_MS + 120_000 },
    async () => {
      const startedAt = Date.now();
      const deadline = startedAt + RUN_MS;
      const records: ClientRecord[] = keys.map((key) => ({
        key,
        conversationId: null,
        acknowledged: [],
        turns: 0,
        failures: [],
        busy: 0,
        recovered: 0,
        latenciesMs: [],
      }));
      const streaming = new Map<string, ClientRecord>();
      const clients = records.map((record, index) =>
        runClient(nginx.url, record, index, deadline, streaming).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );

      // Mid-run, a stream that has begun: the replica holding its conversation's lock is the one to kill.
      await new Promise((resolve) => setTimeout(resolve, RUN_MS * KILL_AT));
      const victim = await killReplicaMidStream(database.url, replicas, streaming);
      // No client gave up a turn.
      expect(await Promise.all(clients)).toEqual(records.map(() => undefined));
      const elapsedMs = Date.now() - startedAt;

      // The killed replica is gone for good; the other one serves on.
      expect((await victim.exited).signal).toBe('SIGKILL');
      const survivor = replicas.find((replica) => replica !== victim)!;
      expect((await fetch(`${survivor.url}/readyz`)).status).toBe(200);

      const failures = records.flatMap((record) => record.failures);
      // Its clients got a clear failure (nginx's 502, a closed socket, or the stream's error)...
      expect(failures.length).toBeGreaterThan(0);
      // ...and every one of them succeeded on retry through nginx: no turn was given up.
      expect(records.reduce((sum, record) => sum + record.recovered, 0)).toBe(failures.length);
      for (const record of records) expect(record.turns, record.key).toBeGreaterThan(0);

      const stored = await readStored(database.url);
      for (const record of records) {
        const messages = stored.get(record.conversationId!) ?? [];
        const byId = new Map(messages.map((message) => [message.id, message]));
        // 0 acknowledged messages lost: each is stored, with the same role and text.
        for (const acknowledged of record.acknowledged)
          expect(byId.get(acknowledged.id), acknowledged.id).toEqual(acknowledged);
        // In order: stored order (ids are time-ordered) is the order the client saw, and a reply follows its message.
        const order = messages.map((message) => message.id);
        expect(record.acknowledged.map((message) => message.id)).toEqual(
          order.filter((id) => record.acknowledged.some((a) => a.id === id)),
        );
        for (const [index, message] of messages.entries()) {
          if (message.role === 'ASSISTANT') expect(messages[index - 1]?.role, `${record.key} #${index}`).toBe('USER');
        }
      }

      // The statistics through the API equal the rows in the database, key by key and in all.
      const totals = await Promise.all(records.map((record) => sentimentTotal(nginx.url, record.key)));
      const rows = await countRows(database.url);
      expect(totals.reduce((sum, total) => sum + total, 0)).toBe(rows.sentiments);
      // Every stored user message was classified in the same transaction (CHAT_TASKS=sentiment).
      expect(rows.sentiments).toBe(rows.userMessages);

      const latencies = records.flatMap((record) => record.latenciesMs).sort((a, b) => a - b);
      const figures = {
        clients: CLIENTS,
        runSeconds: elapsedMs / 1000,
        turns: records.reduce((sum, record) => sum + record.turns, 0),
        turnsPerSecond: records.reduce((sum, record) => sum + record.turns, 0) / (elapsedMs / 1000),
        failedAttempts: failures.length,
        busyRetries: records.reduce((sum, record) => sum + record.busy, 0),
        failureKinds: [...new Set(failures)],
        recovered: records.reduce((sum, record) => sum + record.recovered, 0),
        acknowledgedMessages: records.reduce((sum, record) => sum + record.acknowledged.length, 0),
        storedMessages: rows.messages,
        lostAcknowledged: 0,
        turnLatencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: latencies.at(-1) },
      };
      if (FULL) {
        const folder = path.resolve('.tmp/reliability');
        mkdirSync(folder, { recursive: true });
        writeFileSync(path.join(folder, 'replicas.json'), `${JSON.stringify(figures, null, 2)}\n`);
      }
      console.log(`replicas: ${JSON.stringify(figures)}`);
    },
  );
});

/** One client: turn after turn on its own conversation, HTTP and graphql-ws in turn, each retried until it succeeds. */
async function runClient(
  baseUrl: string,
  record: ClientRecord,
  index: number,
  deadline: number,
  streaming: Map<string, ClientRecord>,
): Promise<void> {
  const ws = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${record.key}` },
    lazy: true,
    retryAttempts: 0,
  });
  try {
    for (let turn = 0; Date.now() < deadline; turn += 1) {
      const overWebSocket = (turn + index) % 2 === 1;
      let done = false;
      for (let attempt = 0; attempt < ATTEMPTS_PER_TURN && !done; attempt += 1) {
        const message = `client ${index} turn ${turn} attempt ${attempt}`;
        const startedAt = performance.now();
        try {
          if (overWebSocket) await streamTurn(ws, record, message, streaming);
          else await httpTurn(baseUrl, record, message);
          record.latenciesMs.push(performance.now() - startedAt);
          record.turns += 1;
          if (attempt > 0) record.recovered += attempt;
          done = true;
        } catch (error) {
          if (error instanceof EngineBusy && record.busy < MAX_BUSY_RETRIES) {
            record.busy += 1;
            attempt -= 1;
            await new Promise((resolve) => setTimeout(resolve, Math.min(error.retryAfterMs, 2_000)));
            continue;
          }
          record.failures.push(error instanceof Error ? error.message.split('\n')[0]! : String(error));
          // A moment for nginx to mark the dead replica down; the loop bounds the attempts.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      if (!done) throw new Error(`client ${index} gave up turn ${turn}: ${record.failures.slice(-3).join(' | ')}`);
    }
  } finally {
    await ws.dispose();
  }
}

function chatInput(record: ClientRecord, message: string): Record<string, unknown> {
  return {
    message,
    locale: 'EN',
    maxTokens: MAX_TOKENS,
    ...(record.conversationId ? { conversationId: record.conversationId } : {}),
  };
}

async function httpTurn(baseUrl: string, record: ClientRecord, message: string): Promise<void> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${record.key}` },
    body: JSON.stringify({ query: CHAT, variables: { input: chatInput(record, message) } }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: {
    data?: {
      chat: {
        conversation: { id: string };
        userMessage: { id: string; content: string };
        reply: { id: string; content: string; status: string };
      };
    };
    errors?: GraphQLErrors;
  };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not the service's answer: nginx's own error page (502 when the replica died under the request).
    throw new Error(`HTTP ${response.status} from the proxy`);
  }
  const busy = busyIn(body.errors);
  if (busy) throw busy;
  if (!body.data) throw new Error(`GraphQL ${body.errors?.[0]?.extensions?.code ?? 'error'}: ${body.errors?.[0]?.message}`);
  const { conversation, userMessage, reply } = body.data.chat;
  if (reply.status !== 'COMPLETE') throw new Error(`reply ${reply.status}`);
  record.conversationId = conversation.id;
  record.acknowledged.push({ id: userMessage.id, role: 'USER', content: userMessage.content });
  record.acknowledged.push({ id: reply.id, role: 'ASSISTANT', content: reply.content });
}

type StreamEvent =
  | { __typename: 'ChatStarted'; conversation: { id: string }; userMessage: { id: string; content: string } }
  | { __typename: 'ChatToken'; text: string }
  | { __typename: 'ChatDone'; reply: { id: string; content: string; status: string } };

async function streamTurn(
  ws: Client,
  record: ClientRecord,
  message: string,
  streaming: Map<string, ClientRecord>,
): Promise<void> {
  const events = ws.iterate<{ chatStream: StreamEvent }>({
    query: CHAT_STREAM,
    variables: { input: chatInput(record, message) },
  });
  let finished = false;
  let tokens = 0;
  try {
    for await (const result of events) {
      const busy = busyIn(result.errors);
      if (busy) throw busy;
      if (result.errors?.length)
        throw new Error(`stream ${result.errors[0]?.extensions?.['code'] ?? 'error'}: ${result.errors[0]?.message}`);
      const event = result.data?.chatStream;
      if (!event) continue;
      if (event.__typename === 'ChatStarted') {
        record.conversationId = event.conversation.id;
        // Acknowledged: the service reports the message stored before the reply starts.
        record.acknowledged.push({ id: event.userMessage.id, role: 'USER', content: event.userMessage.content });
      } else if (event.__typename === 'ChatToken') {
        tokens += 1;
        if (tokens === 2 && record.conversationId) streaming.set(record.conversationId, record);
      } else {
        if (event.reply.status !== 'COMPLETE') throw new Error(`reply ${event.reply.status}`);
        record.acknowledged.push({ id: event.reply.id, role: 'ASSISTANT', content: event.reply.content });
        finished = true;
      }
    }
  } catch (error) {
    // graphql-ws reports a dropped socket as a CloseEvent, not an Error.
    if (error instanceof Error) throw error;
    throw new Error(describeSocketFailure(error));
  } finally {
    if (record.conversationId) streaming.delete(record.conversationId);
  }
  if (!finished) throw new Error('stream ended without ChatDone');
}

/** graphql-ws hands on the socket's CloseEvent (a dropped connection) or ErrorEvent (a refused upgrade). */
function describeSocketFailure(event: unknown): string {
  const { type, code, reason, message } = (event ?? {}) as {
    type?: string;
    code?: number;
    reason?: string;
    message?: string;
  };
  if (code !== undefined) return `socket closed (${code}${reason ? ` ${reason}` : ''})`;
  return `socket ${type ?? 'failure'}: ${message ?? String(event)}`;
}

/** Kills the replica whose PostgreSQL session holds the turn lock of a conversation that is streaming right now. */
async function killReplicaMidStream(
  databaseUrl: string,
  replicas: ServiceProcess[],
  streaming: Map<string, ClientRecord>,
): Promise<ServiceProcess> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 400; attempt += 1) {
      for (const conversationId of streaming.keys()) {
        const holder = await client.query<{ application_name: string }>(
          `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
           where l.locktype = 'advisory' and l.granted and l.classid = $1 and l.objid = hashtext($2)::oid`,
          [0x41_49_4f_43, conversationId],
        );
        const name = holder.rows[0]?.application_name;
        const index = replicas.findIndex((_, i) => name === `all-in-one replica-${i + 1}`);
        if (index >= 0 && streaming.has(conversationId)) {
          replicas[index]!.child.kill('SIGKILL');
          return replicas[index]!;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await client.end();
  }
  throw new Error('no stream was running to kill a replica under');
}

interface StoredMessage extends Acknowledged {}

async function readStored(databaseUrl: string): Promise<Map<string, StoredMessage[]>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<StoredMessage & { conversation_id: string }>(
      `select conversation_id, id, upper(role) as role, content from messages order by conversation_id, id`,
    );
    const stored = new Map<string, StoredMessage[]>();
    for (const { conversation_id, id, role, content } of result.rows) {
      const list = stored.get(conversation_id) ?? [];
      list.push({ id, role, content });
      stored.set(conversation_id, list);
    }
    return stored;
  } finally {
    await client.end();
  }
}

async function countRows(databaseUrl: string): Promise<{ sentiments: number; userMessages: number; messages: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ sentiments: number; user_messages: number; messages: number }>(
      `select (select count(*)::int from task_results where task = 'sentiment') as sentiments,
         (select count(*)::int from messages where role = 'user') as user_messages,
         (select count(*)::int from messages) as messages`,
    );
    const row = result.rows[0]!;
    return { sentiments: row.sentiments, userMessages: row.user_messages, messages: row.messages };
  } finally {
    await client.end();
  }
}

async function sentimentTotal(baseUrl: string, key: string): Promise<number> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ sentimentStats { total } }' }),
  });
  const body = (await response.json()) as { data?: { sentimentStats: { total: number } }; errors?: unknown };
  if (!body.data) throw new Error(`sentimentStats failed: ${JSON.stringify(body.errors)}`);
  return body.data.sentimentStats.total;
}

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

/** Items of the shared job: enough that both replicas are still at it when one is killed. */
const JOB_ITEMS = 120;
/** The dead replica's claims run out this soon, so the survivor takes its items over without a long wait. */
const JOB_LEASE_MS = 3_000;
const JOB_LIMIT_MS = 60_000;
const LEASE_POLL_MS = 20;

describe.skipIf(!adminUrl)('two replicas on one analysis job', () => {
  const leftovers: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const close of leftovers.splice(0).reverse()) await close();
  });

  it('both store items of it; one killed mid-job, the other finishes: exactly one result per item and task', async () => {
    const database = await createDatabase('postgres', os.tmpdir(), 'shared-job');
    leftovers.push(() => database.dispose());
    const replicas = await Promise.all(
      [1, 2].map((index) =>
        startService({ DATABASE_URL: database.location, REPLICA_NAME: `jobs-${index}`, JOB_LEASE_MS: String(JOB_LEASE_MS) }),
      ),
    );
    for (const replica of replicas) leftovers.push(() => stopProcess(replica));
    const [survivor, victim] = replicas as [ServiceProcess, ServiceProcess];
    const jobId = await startJobThroughApi(survivor.url, JOB_ITEMS);

    // Who stored what, from the items' leases: an item seen held by a worker (one per process) and then done was
    // stored by it, since a live worker's lease does not run out.
    const watch = watchLeases(database, jobId);
    const deadline = Date.now() + JOB_LIMIT_MS;
    while ([...watch.storedBy.values()].filter((count) => count > 0).length < 2) {
      if (Date.now() > deadline) throw new Error(`both replicas did not store items: ${JSON.stringify([...watch.storedBy])}`);
      await watch.poll();
    }
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    // What each worker held at the kill: the dead one's leases stay until they run out.
    const heldAtKill = await watch.poll();
    expect(heldAtKill.pending).toBeGreaterThan(0);
    // The survivor goes on claiming: a lease on an item nobody held before names it; the other worker is the dead one.
    let survivorWorker: string | undefined;
    while (survivorWorker === undefined) {
      if (Date.now() > deadline) throw new Error('the surviving replica claimed nothing after the kill');
      survivorWorker = (await watch.poll()).newHolders[0];
    }
    const deadWorker = [...watch.storedBy.keys()].find((worker) => worker !== survivorWorker);
    const orphaned = [...heldAtKill.held].filter(([, worker]) => worker === deadWorker).map(([itemId]) => itemId);
    expect(orphaned.length).toBeGreaterThan(0);

    const finished = await waitForJob(survivor.url, jobId, (job) => !['QUEUED', 'RUNNING'].includes(job.status), JOB_LIMIT_MS);
    expect(finished).toMatchObject({ status: 'DONE', processed: JOB_ITEMS });
    await expectEachItemOnce(database, survivor.url, jobId, JOB_ITEMS);
    // Each replica says so in its own log, under its own name.
    for (const [index, replica] of replicas.entries()) {
      const claimed = replica.logs().filter((line) => line.msg === 'analysis job: running its items here');
      expect(claimed.map((line) => [line['jobId'], line['replica']])).toEqual([[jobId, `jobs-${index + 1}`]]);
    }
    console.log(
      `shared job: items seen stored per worker ${JSON.stringify(Object.fromEntries(watch.storedBy))}; ` +
        `${orphaned.length} items taken over from the killed replica`,
    );
  }, 150_000);
});

/** Polls a job's items' leases: which worker held each item, and how many items each was seen to store. */
function watchLeases(database: TestDatabase, jobId: string) {
  const heldBy = new Map<string, string>();
  const storedBy = new Map<string, number>();
  const counted = new Set<string>();
  return {
    storedBy,
    async poll() {
      // Often enough to see items under their leases, rarely enough to leave the replicas the cores.
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
      const rows = await database.rows<{ id: string; status: string; leaseOwner: string | null }>(
        'select id, status, lease_owner as "leaseOwner" from analysis_items where job_id = ?',
        jobId,
      );
      const held = new Map<string, string>();
      const newHolders: string[] = [];
      for (const row of rows) {
        if (row.leaseOwner !== null && row.status === 'pending') {
          if (!heldBy.has(row.id)) newHolders.push(row.leaseOwner);
          held.set(row.id, row.leaseOwner);
          heldBy.set(row.id, row.leaseOwner);
          if (!storedBy.has(row.leaseOwner)) storedBy.set(row.leaseOwner, 0);
        } else if (row.status !== 'pending' && heldBy.has(row.id) && !counted.has(row.id)) {
          counted.add(row.id);
          storedBy.set(heldBy.get(row.id)!, (storedBy.get(heldBy.get(row.id)!) ?? 0) + 1);
        }
      }
      return { held, newHolders, pending: rows.filter((row) => row.status === 'pending').length };
    },
  };
}
