// Results files of analysis jobs over a real socket, on real databases: the CSV and JSONL equal what the GraphQL API
// reads back, a big job streams without the server holding the file, and the key and origin rules are /graphql's.
// Jobs are filled through the real store (claim, then complete, as the job runner does) so a test needs no model.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { setImmediate } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ItemOutcome, NewAnalysisItem, NewTaskResult, Repository } from '../src/db/index.js';
import { RESULTS_PAGE_SIZE } from '../src/service/jobResults.js';
import { fingerprintOf } from '../src/security/apiKeys.js';
import { createDatabase, testDialects, type TestDatabase } from './support/dialects.js';
import { createScratchDir, createTestServiceOn, type TestService } from './support/testApp.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';
const TASKS = ['sentiment', 'keywords'];
const FILLER = 'test-filler';
/** Items a fill leaves pending stay claimed this long, so no later fill takes them. */
const HOUR_MS = 3_600_000;
const scratch = createScratchDir('aio-job-results-');
const leftovers: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const close of leftovers.splice(0).reverse()) await close();
});

afterAll(() => scratch.remove());

interface Served {
  service: TestService;
  repository: Repository;
  port: number;
}

async function serve(database: TestDatabase, env: Record<string, string>, wrap = (repository: Repository) => repository) {
  const repository = wrap(await database.open());
  const service = createTestServiceOn(repository, undefined, env);
  leftovers.push(() => service.app.stop());
  const { port } = await service.app.start(0, '127.0.0.1');
  return { service, repository, port } satisfies Served;
}

async function openDatabase(dialect: TestDatabase['dialect'], name: string): Promise<TestDatabase> {
  const database = await createDatabase(dialect, scratch.dir, name);
  leftovers.push(() => database.dispose());
  return database;
}

function resultsOf(seq: number): NewTaskResult[] {
  const positive = ((seq * 37) % 100) / 100;
  return [
    {
      task: 'sentiment',
      kind: 'classify',
      locale: 'en',
      label: positive > 0.5 ? 'positive' : 'negative',
      confidence: Math.max(positive, 1 - positive),
      scores: { positive, negative: 1 - positive, neutral: 0 },
      latencyMs: 3,
    },
    { task: 'keywords', kind: 'extract', locale: 'en', value: [`word ${seq}`, 'a "quoted", comma'], latencyMs: 4 },
  ];
}

interface FillOptions {
  owner: string | null;
  name?: string;
  items: NewAnalysisItem[];
  /** The outcome of the item at `seq` (from 1); undefined leaves it pending (claimed by nobody who will finish it). */
  outcome?: (seq: number, text: string) => ItemOutcome | undefined;
}

/** A job made and run through the store the way the service and its job runner do, with outcomes of the test's choosing. */
async function fillJob(repository: Repository, options: FillOptions): Promise<string> {
  const created = await repository.createAnalysisJob({
    owner: options.owner,
    name: options.name ?? null,
    tasks: TASKS,
    maxActive: Number.MAX_SAFE_INTEGER,
  });
  if (created.outcome !== 'created') throw new Error(`createAnalysisJob: ${created.outcome}`);
  const job = created.job;
  for (let start = 0; start < options.items.length; start += 1000) {
    const added = await repository.addAnalysisItems({
      jobId: job.id,
      owner: options.owner,
      items: options.items.slice(start, start + 1000),
      maxItems: 100_000,
    });
    expect(added.outcome).toBe('added');
  }
  await repository.startAnalysisJob(job.id, options.owner);
  const outcome = options.outcome ?? ((seq) => ({ itemId: '', results: resultsOf(seq) }));
  for (;;) {
    const claimed = await repository.claimAnalysisItems({ worker: FILLER, limit: 500, leaseMs: HOUR_MS });
    if (claimed.length === 0) break;
    const outcomes = claimed.flatMap((item) => {
      const chosen = outcome(item.seq, item.text);
      return chosen ? [{ ...chosen, itemId: item.id }] : [];
    });
    await repository.completeAnalysisItems(FILLER, outcomes);
  }
  return job.id;
}

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A request with exactly these headers (fetch would not let a test set Host, Origin or Sec-Fetch-Site freely). */
function send(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<RawResponse>((resolve, reject) => {
    const target = { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers };
    const req = httpRequest(target, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** The smallest GraphQL request, to compare /graphql's refusals with the file's. */
const GRAPHQL_GET = '/graphql?query=%7B__typename%7D';

const ITEMS_QUERY = `query ($id: ID!, $after: String) {
  analysisJob(id: $id) {
    status
    items(first: 50, after: $after) {
      edges { node {
        externalId status tags { key value } error { code message }
        taskResults {
          __typename
          ... on Classification { task label confidence scores { label probability } }
          ... on Extraction { task value }
        }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

interface ApiItem {
  externalId: string | null;
  status: string;
  tags: { key: string; value: string }[];
  error: { code: string; message: string } | null;
  taskResults: (
    | {
        __typename: 'Classification';
        task: string;
        label: string;
        confidence: number;
        scores: { label: string; probability: number }[];
      }
    | { __typename: 'Extraction'; task: string; value: unknown }
  )[];
}

/** Every item of the job as the GraphQL API reads it back, in order. */
async function itemsThroughApi(port: number, key: string, jobId: string): Promise<ApiItem[]> {
  const items: ApiItem[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ query: ITEMS_QUERY, variables: { id: jobId, after } }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const connection = body.data.analysisJob.items;
    items.push(...connection.edges.map((edge: { node: ApiItem }) => edge.node));
    if (!connection.pageInfo.hasNextPage) return items;
    after = connection.pageInfo.endCursor;
  }
  throw new Error('more pages than a test job has');
}

/**
 * Texts and tags that CSV must quote or keep from running as spreadsheet formulas, tags some items lack, items that
 * fail and items still pending.
 */
function variedItems(count: number): NewAnalysisItem[] {
  return Array.from({ length: count }, (_, index) => ({
    text: index % 9 === 4 ? '' : `review ${index + 1}`,
    externalId: index % 11 === 7 ? null : index % 13 === 5 ? `=HYPERLINK("http://example.com/${index}")` : `row-${index + 1}`,
    tags: [
      { key: 'product', value: ['phone', 'laptop, "pro"', '耳机\nline two', '+1 charger', '-5% off', '@shop'][index % 6]! },
      ...(index % 4 === 0 ? [{ key: 'store', value: `store ${index % 5}` }] : []),
      ...(index % 6 === 1 ? [{ key: 'date', value: '2026-12-06' }] : []),
    ],
    ...(index === 2 ? { error: { code: 'INVALID_TEXT', message: 'The text holds U+0000 or a lone surrogate.' } } : {}),
  }));
}

function variedOutcome(pendingFrom: number) {
  return (seq: number, text: string): ItemOutcome | undefined => {
    if (seq >= pendingFrom) return undefined;
    if (text === '') return { itemId: '', error: { code: 'BAD_USER_INPUT', message: 'The text is empty.' } };
    return { itemId: '', results: resultsOf(seq) };
  };
}

/** A text cell as the file shows it: one a spreadsheet would run as a formula starts with `'`. */
function asText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** A CSV row, as the file promises it, from an item the API read back. */
function expectedCsvRow(item: ApiItem, tagKeys: string[]): string[] {
  const tags = new Map(item.tags.map((tag) => [tag.key, tag.value]));
  const results = new Map(item.taskResults.map((result) => [result.task, result]));
  const sentiment = results.get('sentiment');
  const keywords = results.get('keywords');
  return [
    asText(item.externalId ?? ''),
    ...tagKeys.map((key) => asText(tags.get(key) ?? '')),
    item.status,
    item.error?.code ?? '',
    item.error?.message ?? '',
    sentiment?.__typename === 'Classification' ? sentiment.label : '',
    sentiment?.__typename === 'Classification' ? String(sentiment.confidence) : '',
    keywords?.__typename === 'Extraction' ? JSON.stringify(keywords.value) : '',
  ];
}

/** A JSONL record, as the file promises it, from an item the API read back (its position gives `seq`). */
function expectedJsonlRecord(item: ApiItem, seq: number): Record<string, unknown> {
  return {
    seq,
    externalId: item.externalId,
    tags: Object.fromEntries(item.tags.map((tag) => [tag.key, tag.value])),
    status: item.status,
    error: item.error,
    results: Object.fromEntries(
      item.taskResults.map((result) =>
        result.__typename === 'Classification'
          ? [
              result.task,
              {
                label: result.label,
                confidence: result.confidence,
                scores: Object.fromEntries(result.scores.map((score) => [score.label, score.probability])),
              },
            ]
          : [result.task, { value: result.value }],
      ),
    ),
  };
}

describe.each(testDialects())('results files on %s', (dialect) => {
  it('CSV and JSONL hold what the API reads back: tags as columns, per-item errors, a running job so far', async () => {
    const database = await openDatabase(dialect, 'equal');
    const { repository, port } = await serve(database, { API_KEYS: KEY_A });
    // Two pages and more of the file, and the last few items still pending: the job is running.
    const count = RESULTS_PAGE_SIZE + 45;
    const jobId = await fillJob(repository, {
      owner: fingerprintOf(KEY_A),
      name: 'reviews (December)',
      items: variedItems(count),
      outcome: variedOutcome(count - 4),
    });
    const apiItems = await itemsThroughApi(port, KEY_A, jobId);
    expect(apiItems).toHaveLength(count);
    // The fill made what the file must show: failures of both kinds, pending items, items without an external id.
    expect(new Set(apiItems.map((item) => item.error?.code ?? item.status))).toEqual(
      new Set(['INVALID_TEXT', 'BAD_USER_INPUT', 'PENDING', 'DONE']),
    );

    const csv = await send(port, `/jobs/${jobId}/results.csv`, { headers: bearer(KEY_A) });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(
      `attachment; filename="reviews__December_.results.csv"; filename*=UTF-8''reviews%20%28December%29.results.csv`,
    );
    expect(csv.headers['x-job-status']).toBe('RUNNING');
    const [header, ...rows] = parseCsv(csv.body) as string[][];
    const tagKeys = ['date', 'product', 'store'];
    expect(header).toEqual([
      'external_id',
      ...tagKeys.map((key) => `tag:${key}`),
      'status',
      'error_code',
      'error_message',
      'sentiment.label',
      'sentiment.confidence',
      'keywords.value',
    ]);
    expect(rows).toEqual(apiItems.map((item) => expectedCsvRow(item, tagKeys)));
    // Cells a spreadsheet would run are text; the confidences (numbers) are not touched.
    for (const cell of [`'=HYPERLINK("http://example.com/5")`, "'+1 charger", "'-5% off", "'@shop"]) {
      expect(rows.flat()).toContain(cell);
    }

    const jsonl = await send(port, `/jobs/${jobId}/results.jsonl`, { headers: bearer(KEY_A) });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(jsonl.headers['content-disposition']).toMatch(/^attachment; filename="reviews__December_\.results\.jsonl"/);
    expect(jsonl.body.endsWith('\n')).toBe(true);
    const records = jsonl.body.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(records).toEqual(apiItems.map((item, index) => expectedJsonlRecord(item, index + 1)));
  }, 60_000);
});

describe('a results file and the rules of /graphql', () => {
  it('answers 404 alike for another key’s job and for none, 401 without a key, and each key its own file', async () => {
    const database = await openDatabase('sqlite', 'keys');
    const { repository, port } = await serve(database, { API_KEYS: `${KEY_A},${KEY_B}` });
    const jobId = await fillJob(repository, { owner: fingerprintOf(KEY_A), items: variedItems(3) });

    const own = await send(port, `/jobs/${jobId}/results.jsonl`, { headers: bearer(KEY_A) });
    expect(own.status).toBe(200);
    expect(own.body.trimEnd().split('\n')).toHaveLength(3);

    const others = await send(port, `/jobs/${jobId}/results.csv`, { headers: bearer(KEY_B) });
    const missing = await send(port, '/jobs/01JZZZZZZZZZZZZZZZZZZZZZZZ/results.csv', { headers: bearer(KEY_B) });
    expect(others.status).toBe(404);
    expect(JSON.parse(others.body)).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'NOT_FOUND' } })] });
    // Nothing tells "not yours" from "does not exist".
    expect({ status: missing.status, body: missing.body }).toEqual({ status: others.status, body: others.body });

    const unauthorized: Record<string, string>[] = [{}, { authorization: 'Bearer not-a-configured-key-at-all' }];
    for (const headers of unauthorized) {
      const file = await send(port, `/jobs/${jobId}/results.csv`, { headers });
      const graphql = await send(port, GRAPHQL_GET, { headers: { ...headers, accept: 'application/json' } });
      expect(file.status).toBe(401);
      expect(file.headers['www-authenticate']).toBe('Bearer');
      expect(file.body).toBe(graphql.body);
      expect(graphql.status).toBe(401);
    }
  });

  it('refuses other sites’ pages and foreign hosts as /graphql does, and lets ALLOWED_ORIGINS read with CORS', async () => {
    const allowed = 'http://127.0.0.1:5173';
    const database = await openDatabase('sqlite', 'origins');
    const { repository, port } = await serve(database, { ALLOWED_ORIGINS: allowed });
    const jobId = await fillJob(repository, { owner: null, items: variedItems(2) });
    const path = `/jobs/${jobId}/results.csv`;

    const refused: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { host: 'rebound.example' },
    ];
    for (const headers of refused) {
      const file = await send(port, path, { headers });
      const graphql = await send(port, GRAPHQL_GET, { headers: { ...headers, accept: 'application/json' } });
      expect(file.status, JSON.stringify(headers)).toBe(403);
      expect({ status: file.status, body: file.body }).toEqual({ status: graphql.status, body: graphql.body });
    }

    const ownPage = await send(port, path, { headers: { 'sec-fetch-site': 'same-origin' } });
    expect(ownPage.status).toBe(200);
    expect(ownPage.headers['access-control-allow-origin']).toBeUndefined();

    const preflight = await send(port, path, {
      method: 'OPTIONS',
      headers: { origin: allowed, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(preflight.headers['access-control-allow-headers']).toBe('authorization');
    const crossOrigin = await send(port, path, { headers: { origin: allowed, 'sec-fetch-site': 'cross-site' } });
    expect(crossOrigin.status).toBe(200);
    expect(crossOrigin.headers['access-control-allow-origin']).toBe(allowed);
    expect(crossOrigin.headers['access-control-expose-headers']).toContain('content-disposition');

    const post = await send(port, path, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    expect(JSON.parse(post.body)).toEqual({
      errors: [expect.objectContaining({ extensions: { code: 'METHOD_NOT_ALLOWED' } })],
    });
  });
});

/** Bytes of each item's extracted value in the big job: the file is about ITEMS × this. */
const VALUE_BYTES = 10_000;
const BIG_JOB_ITEMS = 4_000;

/**
 * The live heap after a full collection: what the process holds, not what it has yet to collect. Buffers on their way
 * to the socket are outside it; the read-ahead check bounds those.
 */
function liveHeapBytes(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('a job of thousands of items', () => {
  it('streams its file a page at a time: the server reads ahead of a slow reader by little, its memory stays flat', async () => {
    const database = await openDatabase('sqlite', 'big');
    let itemsRead = 0;
    // Counts what the server has read from the store, to compare with what the reader has received.
    const counting = (repository: Repository): Repository =>
      new Proxy(repository, {
        get(target, property) {
          if (property === 'listAnalysisItems') {
            return async (...args: Parameters<Repository['listAnalysisItems']>) => {
              const page = await target.listAnalysisItems(...args);
              itemsRead += page.length;
              return page;
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const { repository, port } = await serve(database, {}, counting);
    const padding = 'x'.repeat(VALUE_BYTES);
    const jobId = await fillJob(repository, {
      owner: null,
      items: Array.from({ length: BIG_JOB_ITEMS }, (_, index) => ({
        text: `text ${index}`,
        externalId: `id-${index}`,
        tags: [{ key: 'shard', value: String(index % 7) }],
      })),
      outcome: (seq) => ({
        itemId: '',
        results: [
          resultsOf(seq)[0]!,
          { task: 'keywords', kind: 'extract', locale: 'en', value: [`${seq}`, padding], latencyMs: 1 },
        ],
      }),
    });
    itemsRead = 0;

    const baseline = liveHeapBytes();
    let peak = 0;
    let maxReadAhead = 0;
    let received = 0;
    let lines = 0;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: `/jobs/${jobId}/results.jsonl` }, resolve);
      req.on('error', reject);
      req.end();
    });
    leftovers.push(() => response.destroy());
    expect(response.statusCode).toBe(200);
    let sinceCheck = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      received += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
      maxReadAhead = Math.max(maxReadAhead, itemsRead - lines);
      sinceCheck += chunk.length;
      if (sinceCheck > 2_000_000) {
        sinceCheck = 0;
        peak = Math.max(peak, liveHeapBytes() - baseline);
      }
      // A slow reader: after each chunk the event loop, and the server in it, runs before the next is taken.
      await setImmediate();
    }

    expect(lines).toBe(BIG_JOB_ITEMS);
    expect(received).toBeGreaterThan(BIG_JOB_ITEMS * VALUE_BYTES);
    // A server that built the file, or wrote it without waiting for the socket, would have read every item before the
    // reader had its first lines: here it reads ahead by what the socket's buffers and a page or two hold (a few MB).
    expect(maxReadAhead).toBeLessThan(BIG_JOB_ITEMS / 2);
    // A page of items and its text are all the heap holds of the file (a few MB of 40).
    expect(peak).toBeLessThan(received / 4);
    console.log(
      `job results: ${(received / 1e6).toFixed(1)} MB streamed; read ahead ≤ ${maxReadAhead} items; ` +
        `live heap +${(peak / 1e6).toFixed(1)} MB at most`,
    );
  }, 120_000);
});
