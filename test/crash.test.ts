// kill -9 during chat streams, on the real process: after each crash the database opens, passes
// `PRAGMA integrity_check`, holds every acknowledged user message, and serves the API. kill -9 in the middle of an
// analysis job, on SQLite and PostgreSQL: the restarted process resumes the job by itself, every item once.
// `npm test` runs one crash; `npm run test:reliability` (RELIABILITY=full) runs many, restarting the real
// process on the crashed file each time, and writes its figures to .tmp/reliability/crash.json.
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openSqlite } from '../src/db/index.js';
import { expectEachItemOnce, startJobThroughApi, storedItems, waitForJob } from './support/analysisJobs.js';
import { createDatabase, testDialects } from './support/dialects.js';
import { startService, stopProcess, type ServiceProcess } from './support/serviceProcess.js';
import { createScratchDir, createTestService } from './support/testApp.js';

const FULL = process.env['RELIABILITY'] === 'full';
/** The full run is long by design; the short one keeps the suite's default limit. */
const TEST_LIMIT_MS = FULL ? 600_000 : 60_000;
const CRASHES = FULL ? 10 : 1;
const STREAMS_PER_RUN = 2;
const scratch = createScratchDir('aio-crash-');
const databasePath = path.join(scratch.dir, 'crash.db');
const leftovers: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const close of leftovers.splice(0).reverse()) await close();
});

afterAll(() => scratch.remove());

/** Deterministic variety: how many tokens each run lets through before the kill. */
function tokensBeforeKill(run: number): number {
  return 1 + ((run * 7 + 3) % 20);
}

/** Starts a long chat stream; resolves with its conversation id once `tokens` tokens have arrived. */
function streamUntil(client: Client, message: string, tokens: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let conversationId = '';
    let seen = 0;
    client.subscribe(
      {
        query: `subscription ($input: ChatInput!) { chatStream(input: $input) { __typename ... on ChatStarted { conversation { id } } } }`,
        variables: { input: { message, maxTokens: 3000, temperature: 0, locale: 'EN' } },
      },
      {
        next: ({ data }) => {
          const event = (data as any).chatStream;
          if (event.__typename === 'ChatStarted') conversationId = event.conversation.id;
          if (event.__typename === 'ChatToken' && ++seen === tokens) resolve(conversationId);
        },
        // The kill ends every stream; only an end before the wanted tokens is a failure.
        error: (error) => (seen < tokens ? reject(error) : undefined),
        complete: () => (seen < tokens ? reject(new Error(`stream ended after ${seen} tokens`)) : undefined),
      },
    );
  });
}

async function graphql(service: ServiceProcess, query: string, variables?: object): Promise<any> {
  const response = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

interface Acknowledged {
  message: string;
  /** Known for streams (from ChatStarted); a `chat` mutation killed mid-generation never answered. */
  conversationId?: string;
}

/** One run: streams and a `chat` mutation generating, sentiment queries in flight, then kill -9. */
async function crashOnce(run: number): Promise<Acknowledged[]> {
  const service = await startService({
    DATABASE_PATH: databasePath,
    WARM_CONVERSATIONS: String(STREAMS_PER_RUN + 1),
    CONTEXT_SIZE: '4096',
  });
  leftovers.push(() => stopProcess(service));
  const client = createClient({
    url: service.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
  leftovers.push(() => client.dispose());

  const acknowledged: Acknowledged[] = [];
  const streams = Array.from({ length: STREAMS_PER_RUN }, (_, index) => {
    const message = `run ${run} stream ${index}: tell me everything`;
    return streamUntil(client, message, tokensBeforeKill(run + index)).then((conversationId) =>
      acknowledged.push({ message, conversationId }),
    );
  });
  // A `chat` mutation counts as acknowledged once its generation runs: the user message is committed before.
  const mutationMessage = `run ${run} mutation: and then?`;
  const mutation = graphql(service, 'mutation ($input: ChatInput!) { chat(input: $input) { reply { id } } }', {
    input: { message: mutationMessage, maxTokens: 3000, temperature: 0 },
  }).catch(() => undefined);
  leftovers.push(() => mutation);
  await Promise.all(streams);
  for (let polls = 0; polls < 10_000; polls++) {
    const body = await graphql(service, '{ engine { runningJobs } }');
    if (body.data.engine.runningJobs.filter((kind: string) => kind === 'chat').length === STREAMS_PER_RUN + 1) break;
  }
  acknowledged.push({ message: mutationMessage });
  // Writes in flight at the moment of the kill.
  const inFlight = Array.from({ length: 4 }, (_, index) =>
    graphql(service, `{ sentiments(texts: ["crash ${run}.${index} a", "b", "c"], locale: EN) { id } }`).catch(
      () => undefined,
    ),
  );
  leftovers.push(() => Promise.all(inFlight));

  service.child.kill('SIGKILL');
  expect(await service.exited).toEqual({ code: null, signal: 'SIGKILL' });
  return acknowledged;
}

/** Opens the crashed file as the service would and checks it; returns what it found. */
async function checkAfterCrash(acknowledged: Acknowledged[]): Promise<{ integrity: string; lost: number }> {
  const database = openSqlite({ path: databasePath });
  let integrity: string;
  let lost = 0;
  try {
    integrity = database.sqlite.pragma('integrity_check', { simple: true }) as string;
    expect(database.sqlite.pragma('foreign_key_check')).toEqual([]);
    const find = database.sqlite.prepare(
      `select conversation_id as conversationId from messages where role = 'user' and content = ?`,
    );
    for (const { message, conversationId } of acknowledged) {
      const row = find.get(message) as { conversationId: string } | undefined;
      if (!row || (conversationId && row.conversationId !== conversationId)) lost += 1;
    }
  } finally {
    database.close();
  }
  // The API over the crashed file: every conversation, message and statistic reads back without an error.
  const api = createTestService(databasePath, undefined);
  try {
    const body = await api.graphql(`{
      conversations(first: 100) { edges { node { id title messages { role content status sentiment { label } } } } }
      sentimentStats { total }
    }`);
    expect(body.errors).toBeUndefined();
    const listed = body.data!.conversations.edges.flatMap((edge: any) =>
      edge.node.messages.map((message: any) => message.content),
    );
    for (const { message } of acknowledged) expect(listed).toContain(message);
  } finally {
    await api.app.stop();
    api.database.close();
  }
  return { integrity, lost };
}

describe('kill -9 during chat streams', () => {
  it(
    `keeps the database intact and loses no acknowledged message (${CRASHES} crash${CRASHES > 1 ? 'es' : ''})`,
    async () => {
      const results: { run: number; acknowledged: number; integrity: string; lost: number }[] = [];
      for (let run = 0; run < CRASHES; run++) {
        const acknowledged = await crashOnce(run);
        for (const close of leftovers.splice(0).reverse()) await close();
        const { integrity, lost } = await checkAfterCrash(acknowledged);
        results.push({ run, acknowledged: acknowledged.length, integrity, lost });
        expect(integrity).toBe('ok');
        expect(lost).toBe(0);
      }
      if (FULL) {
        // The real process starts on the file that has been crashed into, again and again, and serves it.
        const restarted = await startService({ DATABASE_PATH: databasePath });
        leftovers.push(() => stopProcess(restarted));
        const body = await graphql(restarted, '{ conversations(first: 100) { edges { node { messages { status } } } } }');
        expect(body.errors).toBeUndefined();
        expect(body.data.conversations.edges.length).toBe(CRASHES * (STREAMS_PER_RUN + 1));
      }
      const summary = {
        crashes: results.length,
        acknowledgedMessages: results.reduce((sum, result) => sum + result.acknowledged, 0),
        integrityOk: results.filter((result) => result.integrity === 'ok').length,
        lostMessages: results.reduce((sum, result) => sum + result.lost, 0),
      };
      if (FULL) {
        mkdirSync('.tmp/reliability', { recursive: true });
        writeFileSync('.tmp/reliability/crash.json', `${JSON.stringify({ summary, results }, null, 2)}\n`);
      }
      console.log(`crash: ${JSON.stringify(summary)}`);
    },
    TEST_LIMIT_MS,
  );
});

/** A bound on waiting for a log line, so a service that never logs it fails with its output, not a test timeout. */
const LOG_LINE_LIMIT_MS = 20_000;

/** Resolves once the service has logged a line `matches` accepts; rejects if the process exits first. */
function logLine(service: ServiceProcess, matches: (line: { msg?: string }) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => reject(new Error(`not logged:\n${service.stdout()}`)), LOG_LINE_LIMIT_MS);
    const check = (): void => {
      if (!service.logs().some(matches)) return;
      clearTimeout(limit);
      service.child.stdout!.off('data', check);
      resolve();
    };
    service.child.stdout!.on('data', check);
    void service.exited.then(() => reject(new Error(`the service exited first:\n${service.stdout()}`)));
    check();
  });
}

describe('the write-ahead log deleted while the service runs', () => {
  it('is rebuilt through the open connection, so writes acknowledged before and after survive a kill -9', async () => {
    const walDatabase = path.join(scratch.dir, 'wal-deleted.db');
    const chat = async (service: ServiceProcess, message: string) => {
      const body = await graphql(service, 'mutation ($input: ChatInput!) { chat(input: $input) { userMessage { id } } }', {
        input: { message, maxTokens: 1 },
      });
      expect(body.errors).toBeUndefined();
    };
    const service = await startService({ DATABASE_PATH: walDatabase });
    leftovers.push(() => stopProcess(service));
    const before = ['before 1', 'before 2', 'before 3'];
    for (const message of before) await chat(service, message);

    unlinkSync(`${walDatabase}-wal`);
    // No write comes in: the periodic check alone must notice, checkpoint and start a new log.
    await logLine(service, (line) => /write-ahead log was removed/.test(line.msg ?? ''));
    expect(existsSync(`${walDatabase}-wal`)).toBe(true);
    const after = ['after 1', 'after 2', 'after 3'];
    for (const message of after) await chat(service, message);
    expect(service.logs().filter((line) => /write-ahead log/.test(line.msg ?? ''))).toHaveLength(1);

    service.child.kill('SIGKILL');
    await service.exited;
    const restarted = await startService({ DATABASE_PATH: walDatabase });
    leftovers.push(() => stopProcess(restarted));
    const body = await graphql(restarted, '{ conversations(first: 100) { edges { node { messages { role content } } } } }');
    expect(body.errors).toBeUndefined();
    const stored = body.data.conversations.edges.flatMap((edge: any) =>
      edge.node.messages.filter((message: any) => message.role === 'USER').map((message: any) => message.content),
    );
    expect(stored.sort()).toEqual([...after, ...before].sort());
  }, 60_000);
});

/** Items of the job killed in the middle: a few seconds of work on the tiny model, so the kill finds it running. */
const JOB_ITEMS = 100;
/** Items the job must have finished before the kill, so some work is done and some is not. */
const PROCESSED_BEFORE_KILL = 20;
/** The dead process's claims run out this soon, so the restarted one takes its items over without a long wait. */
const JOB_LEASE_MS = 3_000;
const JOB_LIMIT_MS = 60_000;

describe.each(testDialects())('kill -9 in the middle of an analysis job on %s', (dialect) => {
  it('resumes by itself on restart and ends with exactly one result per item and task, or one error', async () => {
    const database = await createDatabase(dialect, scratch.dir, 'job-crash');
    leftovers.push(() => database.dispose());
    const env = {
      [dialect === 'sqlite' ? 'DATABASE_PATH' : 'DATABASE_URL']: database.location,
      JOB_LEASE_MS: String(JOB_LEASE_MS),
    };
    const first = await startService(env);
    leftovers.push(() => stopProcess(first));
    const jobId = await startJobThroughApi(first.url, JOB_ITEMS);
    const running = await waitForJob(
      first.url,
      jobId,
      (job) => job.status !== 'QUEUED' && (job.status !== 'RUNNING' || job.processed >= PROCESSED_BEFORE_KILL),
      JOB_LIMIT_MS,
    );
    expect(running.status).toBe('RUNNING');
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = await storedItems(database, jobId);
    // Killed mid-job for real: some items were stored, some were not.
    expect(atKill.filter((item) => item.status === 'pending').length).toBeGreaterThan(0);
    expect(atKill.filter((item) => item.status === 'done').length).toBeGreaterThan(0);

    // The same database, nobody calling startAnalysisJob again: the new process picks the job up.
    const restarted = await startService(env);
    leftovers.push(() => stopProcess(restarted));
    const finished = await waitForJob(restarted.url, jobId, (job) => !['QUEUED', 'RUNNING'].includes(job.status), JOB_LIMIT_MS);
    expect(finished).toMatchObject({ status: 'DONE', total: JOB_ITEMS, processed: JOB_ITEMS });
    await expectEachItemOnce(database, restarted.url, jobId, JOB_ITEMS);
    const storedAtKill = atKill.filter((item) => item.status !== 'pending').length;
    console.log(`crash mid-job (${dialect}): ${storedAtKill}/${JOB_ITEMS} items stored at the kill; resumed to DONE`);
  }, 150_000);
});
