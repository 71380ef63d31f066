// Analysis jobs over the API on the real engine (tiny model), a real SQLite file and a real PostgreSQL, with the job
// runner running: create, idempotent items, limits, per-item failures, progress over graphql-ws and SSE, pages of
// results equal to what the engine gives, cancel, key isolation, and statistics by job, tags and groupBy.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadTaskDefinitions, type Engine, type TaskRun } from '../src/engine/index.js';
import { createDatabase, testDialects, type Dialect, type TestDatabase } from './support/dialects.js';
import { readSseNextPayloads } from './support/readSseEvents.js';
import { createScratchDir, createTestServiceOn, loadTestEngine, type GraphQLBody, type TestService } from './support/testApp.js';

const scratch = createScratchDir('aio-analysis-jobs-');
const KEY_A = 'analysis-jobs-key-a-0123456789';
const KEY_B = 'analysis-jobs-key-b-0123456789';
const TASKS = ['sentiment', 'intent'];
const JOB = 'id name tasks status total processed failed itemsPerSecond etaSeconds createdAt queuedAt startedAt finishedAt error { code message }';
const RESULT = '__typename ... on Classification { task label confidence scores { label probability } } ... on Extraction { task value }';
const ITEMS = `items(first: $first, after: $after) {
  edges { cursor node { id externalId text tags { key value } status error { code message } taskResults { ${RESULT} } } }
  pageInfo { hasNextPage endCursor } }`;

type Job = { id: string; status: string; total: number; processed: number; failed: number; [field: string]: any };
type Item = { externalId: string | null; text: string; tags: { key: string; value: string }[]; status: string; [field: string]: any };

let engine: Engine;
const leftovers: (() => unknown)[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  await engine.dispose();
  scratch.remove();
});

/**
 * The engine, telling `runs` what each background `runTasks` call returned, by text: the job runner's own results,
 * whatever else shared their decodes (which moves the last digits, so an idle query of the text is no exact reference).
 */
function recordingBackgroundRuns(target: Engine, runs: Map<string, TaskRun>): Engine {
  return new Proxy(target, {
    get(engine, property) {
      if (property === 'runTasks') {
        return async (...args: Parameters<Engine['runTasks']>) => {
          const run = await engine.runTasks(...args);
          if (args[2]?.background === true) runs.set(args[0], run);
          return run;
        };
      }
      const value: unknown = Reflect.get(engine, property, engine);
      return typeof value === 'function' ? value.bind(engine) : value;
    },
  });
}

/** A service on a fresh database of `dialect`, listening on a real port, its runner started unless JOB_WORKER=false. */
async function startService(dialect: Dialect, name: string, env: Record<string, string> = {}, runs?: Map<string, TaskRun>) {
  const database = await createDatabase(dialect, scratch.dir, name);
  leftovers.push(() => database.dispose());
  const logs: Record<string, unknown>[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const served = runs === undefined ? engine : recordingBackgroundRuns(engine, runs);
  const service = createTestServiceOn(await database.open(), served, { LOG_LEVEL: 'info', ...env }, logDestination);
  const address = await service.app.start(0, '127.0.0.1');
  service.jobRunner?.start();
  // The runner stops (giving its items back) before the engine could go, then the server.
  leftovers.push(async () => {
    await service.jobRunner?.stop();
    await service.app.stop();
  });
  return { service, database, logs, url: `127.0.0.1:${address.port}` };
}

/** A GraphQL operation over in-process HTTP, as the holder of `key` (none: auth off). */
async function gql(service: TestService, key: string | undefined, query: string, variables?: Record<string, unknown>) {
  const response = await service.app.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLBody;
}

function codeOf(body: GraphQLBody): string | undefined {
  return body.errors?.[0]?.extensions?.code;
}

/** The data of an operation that must succeed. */
async function data(service: TestService, key: string | undefined, query: string, variables?: Record<string, unknown>) {
  const body = await gql(service, key, query, variables);
  expect(body.errors).toBeUndefined();
  return body.data!;
}

async function createJob(service: TestService, key: string | undefined, tasks = TASKS, name?: string): Promise<Job> {
  const result = await data(
    service,
    key,
    `mutation ($input: CreateAnalysisJobInput!) { createAnalysisJob(input: $input) { ${JOB} } }`,
    { input: { tasks, ...(name ? { name } : {}) } },
  );
  return result.createAnalysisJob as Job;
}

const ADD = `mutation ($jobId: ID!, $items: [AnalysisItemInput!]!) { addAnalysisItems(jobId: $jobId, items: $items) { ${JOB} } }`;

function add(service: TestService, key: string | undefined, jobId: string, items: Record<string, unknown>[]) {
  return gql(service, key, ADD, { jobId, items });
}

function transition(service: TestService, key: string | undefined, mutation: 'startAnalysisJob' | 'cancelAnalysisJob', id: string) {
  return gql(service, key, `mutation ($id: ID!) { ${mutation}(id: $id) { ${JOB} } }`, { id });
}

async function jobOf(service: TestService, key: string | undefined, id: string): Promise<Job | null> {
  return (await data(service, key, `query ($id: ID!) { analysisJob(id: $id) { ${JOB} } }`, { id })).analysisJob as Job | null;
}

/** Every item of a job, page by page (`pageSize` a page), with the cursors each page ended at. */
async function allItems(service: TestService, key: string | undefined, id: string, pageSize: number) {
  const items: Item[] = [];
  const cursors: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = await data(service, key, `query ($id: ID!, $first: Int, $after: String) { analysisJob(id: $id) { ${ITEMS} } }`, {
      id,
      first: pageSize,
      after,
    });
    const connection = page.analysisJob.items;
    items.push(...connection.edges.map((edge: { node: Item }) => edge.node));
    if (!connection.pageInfo.hasNextPage) return { items, cursors };
    after = connection.pageInfo.endCursor as string;
    cursors.push(after);
  }
}

async function waitForStatus(service: TestService, key: string | undefined, id: string, status: string): Promise<Job> {
  await expect.poll(async () => (await jobOf(service, key, id))?.status, { timeout: 60_000, interval: 100 }).toBe(status);
  return (await jobOf(service, key, id))!;
}

const PROGRESS = `subscription ($id: ID!) { analysisJobProgress(id: $id) { ${JOB} } }`;

/** The snapshots of a job's progress over graphql-ws until the stream completes. */
async function progressOverWs(url: string, key: string, id: string, into: Job[]): Promise<void> {
  const client = createClient({
    url: `ws://${url}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { authorization: `Bearer ${key}` },
  });
  clients.push(client);
  for await (const result of client.iterate({ query: PROGRESS, variables: { id } })) {
    if (result.errors) throw new Error(result.errors[0]!.message);
    into.push(result.data!.analysisJobProgress as Job);
  }
}

/** The same over SSE (distinct connections). */
async function progressOverSse(url: string, key: string, id: string, into: Job[]): Promise<void> {
  const response = await fetch(`http://${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: PROGRESS, variables: { id } }),
  });
  for await (const payload of readSseNextPayloads(response)) {
    into.push((payload as { data: { analysisJobProgress: Job } }).data.analysisJobProgress);
  }
}

/** What the stored results of a job's done items count, per value of `tag`, for a classify task. */
function countsByTag(items: Item[], task: string, tag: string) {
  const groups = new Map<string | null, { total: number; labels: Record<string, number> }>();
  for (const item of items.filter((entry) => entry.status === 'DONE')) {
    const value = item.tags.find((entry) => entry.key === tag)?.value ?? null;
    const label = item.taskResults.find((result: { task: string }) => result.task === task).label as string;
    const group = groups.get(value) ?? { total: 0, labels: {} };
    group.total += 1;
    group.labels[label] = (group.labels[label] ?? 0) + 1;
    groups.set(value, group);
  }
  return [...groups].map(([value, group]) => ({ value, ...group })).sort((a, b) => String(a.value).localeCompare(String(b.value)));
}

describe('limits and refusals', () => {
  let service: TestService;
  let url: string;

  beforeAll(async () => {
    ({ service, url } = await startService('sqlite', 'limits', {
      JOB_WORKER: 'false',
      MAX_JOB_ITEMS: '8',
      MAX_JOB_ITEMS_PER_CALL: '5',
      MAX_JOBS_PER_KEY: '3',
    }));
  });

  it('refuses a job without tasks, or with an unknown task, naming the tasks there are', async () => {
    const unknown = await gql(service, undefined, 'mutation { createAnalysisJob(input: { tasks: ["sentiment", "mood"] }) { id } }');
    expect(codeOf(unknown)).toBe('BAD_USER_INPUT');
    expect(unknown.errors![0]!.message).toContain('"mood"');
    expect(unknown.errors![0]!.message).toContain('sentiment, intent, keywords');
    const none = await gql(service, undefined, 'mutation { createAnalysisJob(input: { tasks: [] }) { id } }');
    expect(codeOf(none)).toBe('BAD_USER_INPUT');
    const { analysisJobs } = await data(service, undefined, '{ analysisJobs { edges { node { id } } } }');
    expect(analysisJobs.edges).toEqual([]);
  });

  it('adds a chunk sent twice once (idempotent by externalId), and items without an id every time', async () => {
    const job = await createJob(service, undefined, ['sentiment', 'keywords'], 'reviews.csv');
    expect(job).toMatchObject({ status: 'OPEN', tasks: ['sentiment', 'keywords'], total: 0, name: 'reviews.csv' });
    const chunk = [
      { text: 'great', externalId: 'r1', tags: [{ key: 'product', value: 'p1' }] },
      { text: 'awful', externalId: 'r2' },
    ];
    expect((await add(service, undefined, job.id, chunk)).data!.addAnalysisItems.total).toBe(2);
    expect((await add(service, undefined, job.id, chunk)).data!.addAnalysisItems.total).toBe(2);
    const more = await add(service, undefined, job.id, [{ text: 'fine', externalId: 'r2' }, { text: 'no id' }, { text: 'no id' }]);
    expect(more.data!.addAnalysisItems.total).toBe(4);
    const { items } = await allItems(service, undefined, job.id, 10);
    expect(items.map((item) => [item.externalId, item.text, item.status])).toEqual([
      ['r1', 'great', 'PENDING'],
      ['r2', 'awful', 'PENDING'],
      [null, 'no id', 'PENDING'],
      [null, 'no id', 'PENDING'],
    ]);
    expect(items[0]!.tags).toEqual([{ key: 'product', value: 'p1' }]);
    const found = await data(service, undefined, '{ analysisJobs(name: "reviews.csv") { edges { node { id } } } }');
    expect(found.analysisJobs.edges).toEqual([{ node: { id: job.id } }]);
    expect(codeOf(await transition(service, undefined, 'cancelAnalysisJob', job.id))).toBeUndefined();
  });

  it('refuses more items than a call or a job may hold, and repeated tag keys, adding none of them', async () => {
    const job = await createJob(service, undefined);
    const texts = (n: number, from = 0) => Array.from({ length: n }, (_, index) => ({ text: `text ${from + index}` }));
    const tooMany = await add(service, undefined, job.id, texts(6));
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.errors![0]!.message).toContain('at most 5');
    const repeated = await add(service, undefined, job.id, [
      { text: 'a', tags: [{ key: 'product', value: 'p1' }, { key: 'product', value: 'p2' }] },
    ]);
    expect(codeOf(repeated)).toBe('BAD_USER_INPUT');
    expect(repeated.errors![0]!.message).toContain('"product" twice');
    expect((await jobOf(service, undefined, job.id))!.total).toBe(0);

    expect((await add(service, undefined, job.id, texts(5))).data!.addAnalysisItems.total).toBe(5);
    const overJob = await add(service, undefined, job.id, texts(4, 5));
    expect(codeOf(overJob)).toBe('JOB_TOO_LARGE');
    expect((await jobOf(service, undefined, job.id))!.total).toBe(5);
    expect((await add(service, undefined, job.id, texts(3, 5))).data!.addAnalysisItems.total).toBe(8);
    expect(codeOf(await transition(service, undefined, 'cancelAnalysisJob', job.id))).toBeUndefined();
  });

  it('refuses ids, tags, names, cursors and stats filters it could not store or read back, with BAD_USER_INPUT', async () => {
    const refusals = [
      await gql(service, undefined, 'mutation ($name: String) { createAnalysisJob(input: { name: $name, tasks: ["sentiment"] }) { id } }', {
        name: 'bad\u0000name',
      }),
      await gql(service, undefined, '{ analysisJobs(name: "x", first: 101) { edges { cursor } } }'),
      await gql(service, undefined, '{ analysisJob(id: "not-an-id") { id } }'),
      await gql(service, undefined, 'query ($tag: String!) { sentimentStats(groupBy: { tag: $tag }) { total } }', { tag: '' }),
      await gql(service, undefined, 'query ($value: String!) { taskStats(task: "intent", filter: { tags: [{ key: "k", value: $value }] }) { total } }', {
        value: 'lone \ud800',
      }),
      await gql(service, undefined, '{ sentimentStats(filter: { jobId: "nope" }) { total } }'),
    ];
    expect(refusals.map(codeOf)).toEqual(Array(refusals.length).fill('BAD_USER_INPUT'));
    const job = await createJob(service, undefined);
    const badItems = [
      [{ text: 'a', externalId: '' }],
      [{ text: 'a', externalId: 'x'.repeat(257) }],
      [{ text: 'a', tags: [{ key: 'k\u0000', value: 'v' }] }],
      [{ text: 'a', tags: Array.from({ length: 33 }, (_, index) => ({ key: `k${index}`, value: 'v' })) }],
    ];
    for (const items of badItems) expect(codeOf(await add(service, undefined, job.id, items))).toBe('BAD_USER_INPUT');
    const cursor = await gql(service, undefined, `query ($id: ID!) { analysisJob(id: $id) { items(after: "abc") { edges { cursor } } } }`, {
      id: job.id,
    });
    expect(codeOf(cursor)).toBe('BAD_USER_INPUT');
    expect((await jobOf(service, undefined, job.id))!.total).toBe(0);
    expect(codeOf(await transition(service, undefined, 'cancelAnalysisJob', job.id))).toBeUndefined();
  });

  it('takes no items once started, and no more jobs than MAX_JOBS_PER_KEY that have not ended', async () => {
    expect(service.jobRunner).toBeUndefined();
    const empty = await createJob(service, undefined);
    const started = (await transition(service, undefined, 'startAnalysisJob', empty.id)).data!.startAnalysisJob;
    expect(started.status).toBe('DONE');
    expect(codeOf(await add(service, undefined, empty.id, [{ text: 'late' }]))).toBe('JOB_NOT_OPEN');

    const jobs = [await createJob(service, undefined), await createJob(service, undefined), await createJob(service, undefined)];
    const fourth = await gql(service, undefined, 'mutation { createAnalysisJob(input: { tasks: ["sentiment"] }) { id } }');
    expect(codeOf(fourth)).toBe('JOB_LIMIT');
    await add(service, undefined, jobs[0]!.id, [{ text: 'queued, not run: this replica runs no jobs' }]);
    expect((await transition(service, undefined, 'startAnalysisJob', jobs[0]!.id)).data!.startAnalysisJob.status).toBe('QUEUED');
    expect(codeOf(await add(service, undefined, jobs[0]!.id, [{ text: 'late' }]))).toBe('JOB_NOT_OPEN');
    expect((await transition(service, undefined, 'cancelAnalysisJob', jobs[1]!.id)).data!.cancelAnalysisJob.status).toBe('CANCELLED');
    expect((await createJob(service, undefined)).status).toBe('OPEN');
    // Unknown ids: NOT_FOUND for mutations, null for the query.

    // Nothing moves a queued job on a replica that runs none, yet its progress stream still sends a snapshot.
    const client = createClient({ url: `ws://${url}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    clients.push(client);
    const snapshots: Job[] = [];
    for await (const result of client.iterate({ query: PROGRESS, variables: { id: jobs[0]!.id } })) {
      snapshots.push(result.data!.analysisJobProgress as Job);
      if (snapshots.length === 2) break;
    }
    expect(snapshots.map((snapshot) => [snapshot.status, snapshot.total, snapshot.processed])).toEqual([
      ['QUEUED', 1, 0],
      ['QUEUED', 1, 0],
    ]);

    const unknown = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect(await jobOf(service, undefined, unknown)).toBeNull();
    expect(codeOf(await add(service, undefined, unknown, [{ text: 'x' }]))).toBe('NOT_FOUND');
    expect(codeOf(await transition(service, undefined, 'startAnalysisJob', unknown))).toBe('NOT_FOUND');
  });
});

describe.each(testDialects())('jobs run on %s', (dialect) => {
  let service: TestService;
  let database: TestDatabase;
  let logs: Record<string, unknown>[];
  let url: string;
  const runs = new Map<string, TaskRun>();

  beforeAll(async () => {
    ({ service, database, logs, url } = await startService(dialect, 'run', { API_KEYS: `${KEY_A},${KEY_B}` }, runs));
  });

  const storedResults = async (jobId: string) =>
    Number((await database.rows<{ n: number | string }>('select count(*) as n from task_results where job_id = ?', jobId))[0]!.n);

  it('runs a job to DONE, streaming progress over graphql-ws and SSE; bad texts fail alone and the rest is stored', async () => {
    const job = await createJob(service, KEY_A);
    const items = [
      { text: 'I love this phone, the battery lasts for days.', externalId: 'a1', tags: [{ key: 'product', value: 'phone' }, { key: 'store', value: 'north' }] },
      { text: '快递太慢了，等了一个星期。', externalId: 'a2', tags: [{ key: 'product', value: 'phone' }, { key: 'store', value: 'south' }] },
      { text: 'Where is my parcel?', externalId: 'a3', tags: [{ key: 'product', value: 'case' }, { key: 'store', value: 'north' }] },
      { text: 'bad \u0000 byte', externalId: 'bad-nul', tags: [{ key: 'product', value: 'case' }] },
      { text: 'lone \ud800 surrogate', externalId: 'bad-surrogate' },
      { text: '   ', externalId: 'empty', tags: [{ key: 'product', value: 'case' }] },
      { text: 'x'.repeat(engine.maxInputChars + 1), externalId: 'too-long' },
      { text: 'Thank you, the screen is gorgeous.', externalId: 'a4', tags: [{ key: 'store', value: 'north' }] },
      { text: '这个手机壳质量不错', externalId: 'a5', tags: [{ key: 'product', value: 'case' }, { key: 'store', value: 'south' }] },
    ];
    const added = (await add(service, KEY_A, job.id, items)).data!.addAnalysisItems as Job;
    // The texts that cannot even be stored as given fail at once, counted before anything runs.
    expect(added).toMatchObject({ status: 'OPEN', total: 9, processed: 2, failed: 2 });

    const overWs: Job[] = [];
    const overSse: Job[] = [];
    const streams = Promise.all([progressOverWs(url, KEY_A, job.id, overWs), progressOverSse(url, KEY_A, job.id, overSse)]);
    await expect.poll(() => overWs.length > 0 && overSse.length > 0).toBe(true);
    const started = (await transition(service, KEY_A, 'startAnalysisJob', job.id)).data!.startAnalysisJob as Job;
    expect(['QUEUED', 'RUNNING', 'DONE']).toContain(started.status);
    await streams;

    for (const snapshots of [overWs, overSse]) {
      expect(snapshots[0]).toMatchObject({ status: 'OPEN', total: 9 });
      const last = snapshots.at(-1)!;
      expect(last).toMatchObject({ status: 'DONE', total: 9, processed: 9, failed: 4, etaSeconds: null });
      expect(last.itemsPerSecond).toBeGreaterThan(0);
      const processed = snapshots.map((snapshot) => snapshot.processed);
      expect(processed).toEqual([...processed].sort((a, b) => a - b));
      expect(snapshots.filter((snapshot) => snapshot.status === 'DONE')).toHaveLength(1);
    }

    const { items: stored, cursors } = await allItems(service, KEY_A, job.id, 4);
    expect(cursors).toEqual(['4', '8']);
    expect(stored.map((item) => item.externalId)).toEqual(items.map((item) => item.externalId));
    const failures = Object.fromEntries(stored.filter((item) => item.status === 'FAILED').map((item) => [item.externalId, item.error.code]));
    expect(failures).toEqual({
      'bad-nul': 'INVALID_TEXT',
      'bad-surrogate': 'INVALID_TEXT',
      empty: 'BAD_USER_INPUT',
      'too-long': 'BAD_USER_INPUT',
    });
    expect(stored.find((item) => item.externalId === 'bad-nul')!.text).toBe('bad \ufffd byte');
    // Each done item's results are what the engine gave the runner for that text, every task in order, nothing altered;
    // an item's label is its top probability (engine.test checks a batch against single queries on an idle engine).
    for (const item of stored.filter((entry) => entry.status === 'DONE')) {
      const run = runs.get(item.text);
      expect(run, item.externalId ?? item.text).toBeDefined();
      expect(item.error).toBeNull();
      expect(item.taskResults.map((result: { task: string }) => result.task)).toEqual(TASKS);
      run!.results.forEach((expected, index) => {
        const result = item.taskResults[index] as { label: string; confidence: number; scores: { label: string; probability: number }[] };
        if (expected.kind !== 'classify') throw new Error('the job runs classify tasks only');
        expect(result.label).toBe(expected.label);
        expect(Object.fromEntries(result.scores.map((score) => [score.label, score.probability]))).toEqual(expected.scores);
        expect(result.confidence).toBe(expected.confidence);
        expect(result.confidence).toBe(Math.max(...Object.values(expected.scores)));
      });
    }
    // One stored result per done item and task, of source job, linked to the job and the item.
    const rows = await database.rows<{ item_id: string; task: string; source: string }>(
      'select item_id, task, source from task_results where job_id = ? order by item_id, task',
      job.id,
    );
    expect(rows).toHaveLength(5 * TASKS.length);
    expect(new Set(rows.map((row) => `${row.item_id}/${row.task}`)).size).toBe(rows.length);
    expect(rows.every((row) => row.source === 'job')).toBe(true);
    const metrics = await service.metrics.registry.getSingleMetricAsString('allinone_sentiments_total');
    const jobSentiments = [...metrics.matchAll(/source="job"} (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(jobSentiments).toBe(5);
    // The log tells the job's end, never its texts.
    await expect.poll(() => logs.some((line) => line['msg'] === 'analysis job ended' && line['jobId'] === job.id)).toBe(true);
    expect(JSON.stringify(logs)).not.toContain('battery lasts');

    // Statistics of that job against counts made from its stored items.
    const query = `query ($filter: SentimentStatsFilter, $groupBy: StatsGroupBy) {
      taskStats(task: "intent", filter: $filter, groupBy: $groupBy) { total labels { label count } groups { value total labels { label count } } }
      sentimentStats(filter: $filter, groupBy: $groupBy) { total positive negative neutral groups { value total positive negative neutral } } }`;
    const byProduct = await data(service, KEY_A, query, { filter: { jobId: job.id }, groupBy: { tag: 'product' } });
    expect(byProduct.taskStats.total).toBe(5);
    const expectedByProduct = countsByTag(stored, 'intent', 'product');
    const groupsOf = (groups: { value: string | null; total: number; labels: { label: string; count: number }[] }[]) =>
      groups
        .map(({ value, total, labels }) => ({ value, total, labels: Object.fromEntries(labels.map((entry) => [entry.label, entry.count])) }))
        .sort((a, b) => String(a.value).localeCompare(String(b.value)));
    expect(groupsOf(byProduct.taskStats.groups)).toEqual(expectedByProduct);
    const sentimentByProduct = countsByTag(stored, 'sentiment', 'product');
    expect(
      byProduct.sentimentStats.groups
        .map(({ value, total, positive, negative, neutral }: Record<string, any>) => ({
          value,
          total,
          labels: Object.fromEntries(Object.entries({ positive, negative, neutral }).filter(([, count]) => count > 0)),
        }))
        .sort((a: { value: string | null }, b: { value: string | null }) => String(a.value).localeCompare(String(b.value))),
    ).toEqual(sentimentByProduct);
    const north = await data(service, KEY_A, query, { filter: { jobId: job.id, tags: [{ key: 'store', value: 'north' }] } });
    expect(north.taskStats.total).toBe(stored.filter((item) => item.status === 'DONE' && item.tags.some((tag) => tag.value === 'north')).length);
    expect(north.taskStats.groups).toBeNull();
    const jobs = await data(service, KEY_A, `query ($filter: SentimentStatsFilter) { sentimentStats(filter: $filter) { total } }`, {
      filter: { source: 'JOB' },
    });
    expect(jobs.sentimentStats.total).toBeGreaterThanOrEqual(5);
  });

  it('runs extract tasks too: each value is stored with its item and valid against the task schema', async () => {
    const job = await createJob(service, KEY_A, ['keywords', 'sentiment']);
    await add(service, KEY_A, job.id, [{ text: 'The battery dies after an hour of video.' }, { text: '屏幕很清楚，但是电池不耐用。' }]);
    await transition(service, KEY_A, 'startAnalysisJob', job.id);
    await waitForStatus(service, KEY_A, job.id, 'DONE');
    const { items } = await allItems(service, KEY_A, job.id, 10);
    for (const item of items) {
      expect(item.status).toBe('DONE');
      const [keywords, sentiment] = item.taskResults as { __typename: string; task: string; value?: unknown }[];
      expect(keywords).toMatchObject({ __typename: 'Extraction', task: 'keywords' });
      expect(sentiment).toMatchObject({ __typename: 'Classification', task: 'sentiment' });
      // The keywords schema: an array of at most five strings.
      expect(Array.isArray(keywords!.value)).toBe(true);
      expect((keywords!.value as unknown[]).length).toBeLessThanOrEqual(5);
      expect((keywords!.value as unknown[]).every((entry) => typeof entry === 'string')).toBe(true);
    }
    const values = await database.rows<{ value: string }>(
      "select r.value from task_results r join analysis_items i on i.id = r.item_id where r.job_id = ? and r.task = 'keywords' order by i.seq",
      job.id,
    );
    expect(values.map((row) => JSON.parse(row.value))).toEqual(items.map((item) => item.taskResults[0].value));
  });

  it('keeps a key’s jobs, items and statistics from every other key', async () => {
    const job = await createJob(service, KEY_A);
    await add(service, KEY_A, job.id, [{ text: 'mine alone', externalId: 'only-a' }]);
    expect(await jobOf(service, KEY_B, job.id)).toBeNull();
    const listed = await data(service, KEY_B, '{ analysisJobs(first: 100) { edges { node { id } } } }');
    expect(listed.analysisJobs.edges).toEqual([]);
    expect(codeOf(await add(service, KEY_B, job.id, [{ text: 'intruder' }]))).toBe('NOT_FOUND');
    expect(codeOf(await transition(service, KEY_B, 'startAnalysisJob', job.id))).toBe('NOT_FOUND');
    expect(codeOf(await transition(service, KEY_B, 'cancelAnalysisJob', job.id))).toBe('NOT_FOUND');
    await expect(progressOverWs(url, KEY_B, job.id, [])).rejects.toThrow(/does not exist/);
    expect((await jobOf(service, KEY_A, job.id))!).toMatchObject({ status: 'OPEN', total: 1 });

    await transition(service, KEY_A, 'startAnalysisJob', job.id);
    await waitForStatus(service, KEY_A, job.id, 'DONE');
    const stats = `query ($filter: SentimentStatsFilter) { sentimentStats(filter: $filter) { total } }`;
    expect((await data(service, KEY_A, stats, { filter: { jobId: job.id } })).sentimentStats.total).toBe(1);
    expect((await data(service, KEY_B, stats, { filter: { jobId: job.id } })).sentimentStats.total).toBe(0);
  });

  it('takes a 1,000-item call of review-sized texts over a real socket within the default body limit; not 1,001', async () => {
    const job = await createJob(service, KEY_A);
    const review = '这家店的服务很好，快递也很快，手机壳的质量比想象中好，颜色和图片上的一样。'.repeat(4);
    const items = Array.from({ length: 1001 }, (_, index) => ({
      text: `${review} #${index}`,
      externalId: `row-${index}`,
      tags: [
        { key: 'product', value: `p-${index % 7}` },
        { key: 'store', value: index % 2 ? 'north' : 'south' },
        { key: 'date', value: '2026-01-01' },
      ],
    }));
    const post = (chunk: typeof items) =>
      fetch(`http://${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${KEY_A}` },
        body: JSON.stringify({ query: ADD, variables: { jobId: job.id, items: chunk } }),
      });
    // About 500 bytes of JSON an item, as a CSV row of a review with an id and three columns makes.
    expect(Buffer.byteLength(JSON.stringify(items.slice(0, 1000)))).toBeGreaterThan(450_000);
    const full = (await (await post(items.slice(0, 1000))).json()) as GraphQLBody;
    expect(full.errors).toBeUndefined();
    expect(full.data!.addAnalysisItems.total).toBe(1000);
    const over = (await (await post(items)).json()) as GraphQLBody;
    expect(codeOf(over)).toBe('BAD_USER_INPUT');
    expect(over.errors![0]!.message).toContain('at most 1000 items');
    expect((await transition(service, KEY_A, 'cancelAnalysisJob', job.id)).data!.cancelAnalysisJob.total).toBe(1000);
  });

  it('cancels a running job: its items stop, and nothing of it is stored after', async () => {
    const job = await createJob(service, KEY_A);
    const texts = Array.from({ length: 300 }, (_, index) => ({ text: `Review number ${index}: it works, mostly.` }));
    await add(service, KEY_A, job.id, texts.slice(0, 150));
    await add(service, KEY_A, job.id, texts.slice(150));
    await transition(service, KEY_A, 'startAnalysisJob', job.id);
    await expect.poll(async () => (await jobOf(service, KEY_A, job.id))!.processed, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const cancelled = (await transition(service, KEY_A, 'cancelAnalysisJob', job.id)).data!.cancelAnalysisJob as Job;
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.processed).toBeLessThan(300);
    const resultsAtCancel = await storedResults(job.id);
    expect(resultsAtCancel).toBe(cancelled.processed * TASKS.length);

    // Once a job started after the cancel has run to the end, the runner is past every item of the cancelled one.
    const next = await createJob(service, KEY_A);
    await add(service, KEY_A, next.id, [{ text: 'after the cancel' }, { text: 'and one more' }]);
    await transition(service, KEY_A, 'startAnalysisJob', next.id);
    await waitForStatus(service, KEY_A, next.id, 'DONE');
    expect(await storedResults(job.id)).toBe(resultsAtCancel);
    expect(await jobOf(service, KEY_A, job.id)).toMatchObject({ status: 'CANCELLED', processed: cancelled.processed, etaSeconds: null });
    const { items } = await allItems(service, KEY_A, job.id, 100);
    expect(items.filter((item) => item.status !== 'PENDING')).toHaveLength(cancelled.processed);
  });

  it('a runner that stops stores what it finished and gives the rest back at once: another finishes the job', async () => {
    // Leases far longer than the test: only items given back can be taken over in time.
    const first = await startService(dialect, 'handover', { API_KEYS: KEY_A, JOB_LEASE_MS: '600000' });
    // The test's own connection opens now: a SQLite file gives every lease back when it is opened (a restart's
    // recovery), which would hide leases the runner kept.
    await first.database.rows('select 1');
    const job = await createJob(first.service, KEY_A, ['sentiment']);
    await add(first.service, KEY_A, job.id, Array.from({ length: 300 }, (_, index) => ({ text: `Item ${index}, fine.` })));
    await transition(first.service, KEY_A, 'startAnalysisJob', job.id);
    await expect.poll(async () => (await jobOf(first.service, KEY_A, job.id))!.processed, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    await first.service.jobRunner!.stop();
    const stopped = (await jobOf(first.service, KEY_A, job.id))!;
    expect(stopped.processed).toBeLessThan(300);
    const leased = await first.database.rows<{ n: number | string }>(
      'select count(*) as n from analysis_items where job_id = ? and lease_owner is not null',
      job.id,
    );
    expect(Number(leased[0]!.n)).toBe(0);
    expect(first.logs.some((line) => line['msg'] === 'analysis job: running its items here' && line['jobId'] === job.id)).toBe(true);

    const second = createTestServiceOn(first.service.repository, engine, { LOG_LEVEL: 'silent', API_KEYS: KEY_A, JOB_LEASE_MS: '600000' });
    second.jobRunner!.start();
    leftovers.push(() => second.jobRunner!.stop());
    const done = await waitForStatus(second, KEY_A, job.id, 'DONE');
    expect(done).toMatchObject({ total: 300, processed: 300, failed: 0 });
    const rows = await first.database.rows<{ item_id: string }>('select item_id from task_results where job_id = ?', job.id);
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((row) => row.item_id)).size).toBe(300);
  });
});

describe('a job whose task no longer exists', () => {
  it('fails with TASK_UNAVAILABLE, naming the tasks there are, without running an item', async () => {
    const file = path.join(scratch.dir, 'mood-tasks.json');
    const label = (name: string) => ({ name, description: { en: name, zh: name }, spellings: { en: [name], zh: [name] } });
    writeFileSync(
      file,
      JSON.stringify({
        tasks: [{ kind: 'classify', name: 'mood', description: 'd', instruction: { en: 'Mood?', zh: '心情？' }, labels: [label('up'), label('down')] }],
      }),
    );
    const withMood = await loadTestEngine({ tasks: loadTaskDefinitions(file) });
    leftovers.push(() => withMood.dispose());
    const database = await createDatabase('sqlite', scratch.dir, 'gone-task');
    leftovers.push(() => database.dispose());
    const repository = await database.open();
    const before = createTestServiceOn(repository, withMood, { JOB_WORKER: 'false' });
    const job = await createJob(before, undefined, ['sentiment', 'mood']);
    await add(before, undefined, job.id, [{ text: 'one' }, { text: 'two' }]);
    expect((await transition(before, undefined, 'startAnalysisJob', job.id)).data!.startAnalysisJob.status).toBe('QUEUED');

    // Restarted with a TASKS_FILE without "mood": the runner meets the job.
    const after = createTestServiceOn(repository, engine);
    after.jobRunner!.start();
    leftovers.push(() => after.jobRunner!.stop());
    const failed = await waitForStatus(after, undefined, job.id, 'FAILED');
    expect(failed).toMatchObject({ processed: 0, error: { code: 'TASK_UNAVAILABLE' } });
    expect(failed.error.message).toContain('"mood"');
    expect(failed.error.message).toContain('sentiment, intent, keywords');
    expect(await database.rows('select id from task_results')).toEqual([]);
  });
});
