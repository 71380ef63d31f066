// Operating the service: /metrics over a real socket moves after chats and queries, and every operation is logged once.
import path from 'node:path';
import { Writable } from 'node:stream';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { BadInputError, type Engine, type JobFinishedEvent } from '../src/engine/index.js';
import { createMetrics } from '../src/observability/metrics.js';
import { describeError } from '../src/schema/errors.js';
import { classifySentiment } from './support/sentiment.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-metrics-');
const leftovers: { close(): Promise<void> | void }[] = [];
/** Every job the engine reported, in order. */
const jobEvents: JobFinishedEvent[] = [];
let engine: Engine;
let service: SqliteTestService;
let baseUrl: string;

beforeAll(async () => {
  engine = await loadTestEngine({
    onJobFinished: (event) => {
      jobEvents.push(event);
      service.metrics.recordJob(event);
    },
  });
  leftovers.push({ close: () => engine.dispose() });
  service = createTestService(path.join(scratch.dir, 'metrics.db'), engine);
  leftovers.push({ close: () => service.database.close() });
  const address = await service.app.start(0, '127.0.0.1');
  leftovers.push({ close: () => service.app.stop() });
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const leftover of leftovers.reverse()) await leftover.close();
  scratch.remove();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads `/metrics` over HTTP and parses the Prometheus text format (comments skipped). */
async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await response.text());
}

function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not an exposition line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1]!, pair[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** Sum of the samples named `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

function operation(name: string, type: string, outcome: string) {
  return { operation_name: name, operation_type: type, outcome };
}

describe('GET /metrics', () => {
  it('moves after a chat turn and a sentiment query: operations, jobs, tokens, first token, sentiments', async () => {
    const before = await scrape();
    const chat = await service.graphql(
      `mutation Chat { chat(input: { message: "I failed my exam", locale: EN, maxTokens: 8, temperature: 0 }) {
        userMessage { sentiment { label } } reply { content tokenCount } } }`,
    );
    const query = await service.graphql('query Mood { sentiment(text: "What a lovely day", locale: EN) { label } }');
    expect(chat.errors).toBeUndefined();
    expect(query.errors).toBeUndefined();
    const reply = chat.data!.chat.reply as { content: string; tokenCount: number };
    // A reply with text, so a first token was timed.
    expect(reply.content.length).toBeGreaterThan(0);
    const after = await scrape();
    const moved = (name: string, labels?: Record<string, string>) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);

    expect(moved('allinone_graphql_operations_total', operation('Chat', 'mutation', 'ok'))).toBe(1);
    expect(moved('allinone_graphql_operations_total', operation('Mood', 'query', 'ok'))).toBe(1);
    expect(moved('allinone_engine_job_duration_seconds_count', { kind: 'chat', outcome: 'ok' })).toBe(1);
    // One for the chat message's sentiment, one for the query.
    expect(moved('allinone_engine_job_duration_seconds_count', { kind: 'sentiment', outcome: 'ok' })).toBe(2);
    expect(moved('allinone_engine_time_to_first_token_seconds_count')).toBe(1);
    expect(moved('allinone_engine_tokens_generated_total')).toBe(reply.tokenCount);
    const chatLabel = chat.data!.chat.userMessage.sentiment.label.toLowerCase();
    const queryLabel = query.data!.sentiment.label.toLowerCase();
    expect(moved('allinone_sentiments_total', { label: chatLabel, source: 'chat' })).toBe(1);
    expect(moved('allinone_sentiments_total', { label: queryLabel, source: 'query' })).toBe(1);
    expect(moved('allinone_sentiments_total')).toBe(2);

    // Nothing is queued or running once the responses are in; the model's load is on record.
    expect(valueOf(after, 'allinone_engine_queue_depth')).toBe(0);
    expect(valueOf(after, 'allinone_engine_running_jobs')).toBe(0);
    expect(valueOf(after, 'allinone_model_load_seconds')).toBeGreaterThan(0);
    expect(valueOf(after, 'allinone_model_info', { synthetic: 'true' })).toBe(1);
  });

  it('reports a sentiment batch as one job of kind sentiment-batch, and a task run by its task kind', async () => {
    const before = await scrape();
    const batch = await service.graphql('query Moods { sentiments(texts: ["good", "bad", "fine"], locale: EN) { label } }');
    const intent = await service.graphql('query Intent { classify(task: "intent", text: "Where is my parcel?") { label } }');
    expect(batch.errors).toBeUndefined();
    expect(intent.errors).toBeUndefined();
    const after = await scrape();
    const moved = (labels: Record<string, string>) =>
      valueOf(after, 'allinone_engine_job_duration_seconds_count', labels) -
      valueOf(before, 'allinone_engine_job_duration_seconds_count', labels);
    expect(moved({ kind: 'sentiment-batch', outcome: 'ok' })).toBe(1);
    expect(moved({ kind: 'sentiment', outcome: 'ok' })).toBe(0);
    expect(moved({ kind: 'classify', outcome: 'ok' })).toBe(1);
  });

  it('counts a subscription over SSE once, when its stream ends, and a query over graphql-ws', async () => {
    const before = await scrape();
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription Stream { chatStream(input: { message: "hello", locale: EN, maxTokens: 4 }) { __typename } }',
      }),
    });
    expect(await response.text()).toContain('ChatDone');
    const client = createClient({
      url: `${baseUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      for await (const result of client.iterate({ query: 'query Status { engine { ready } }' })) {
        expect(result.data).toEqual({ engine: { ready: true } });
      }
    } finally {
      await client.dispose();
    }
    const after = await scrape();
    const moved = (labels: Record<string, string>) =>
      valueOf(after, 'allinone_graphql_operations_total', labels) -
      valueOf(before, 'allinone_graphql_operations_total', labels);
    expect(moved(operation('Stream', 'subscription', 'ok'))).toBe(1);
    expect(moved(operation('Status', 'query', 'ok'))).toBe(1);
  });

  it('counts failures by the code clients see: domain errors, validation and parse failures', async () => {
    const before = await scrape();
    expect((await service.graphql('query Empty { sentiment(text: "   ") { label } }')).errors?.[0]?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    await service.graphql('query Wrong { sentiment(text: "x") { noSuchField } }');
    await service.graphql('query Broken {');
    // A stream that fails throws from its iterator rather than yielding an error result.
    const lost = await service.app.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query:
          'subscription Lost { chatStream(input: { message: "hi", conversationId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }) { __typename } }',
      }),
    });
    expect(await lost.text()).toContain('NOT_FOUND');
    // Refused before any operation ran: a GET whose variables are not JSON, a page of another site.
    const malformed = await fetch(`${baseUrl}/graphql?query=${encodeURIComponent('{ engine { ready } }')}&variables=%7B`, {
      headers: { accept: 'application/json' },
    });
    expect(malformed.status).toBe(400);
    const foreign = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ query: '{ engine { ready } }' }),
    });
    expect(foreign.status).toBe(403);
    const after = await scrape();
    const moved = (labels: Record<string, string>) =>
      valueOf(after, 'allinone_graphql_operations_total', labels) -
      valueOf(before, 'allinone_graphql_operations_total', labels);
    expect(moved(operation('Empty', 'query', 'BAD_USER_INPUT'))).toBe(1);
    expect(moved(operation('Wrong', 'query', 'GRAPHQL_VALIDATION_FAILED'))).toBe(1);
    expect(moved(operation('Lost', 'subscription', 'NOT_FOUND'))).toBe(1);
    // A document that does not parse has no operation to name.
    expect(moved(operation('unknown', 'unknown', 'GRAPHQL_PARSE_FAILED'))).toBe(1);
    expect(moved(operation('unknown', 'unknown', 'HTTP_400'))).toBe(1);
    expect(moved(operation('unknown', 'unknown', 'HTTP_403'))).toBe(1);
  });

  it('tells expected errors (their public code) from unexpected ones (masked, and logged with their stack)', () => {
    expect(describeError(new BadInputError({ message: 'empty' }))).toEqual({ code: 'BAD_USER_INPUT', unexpected: false });
    expect(describeError(new TypeError('x is undefined'))).toEqual({ code: 'INTERNAL_SERVER_ERROR', unexpected: true });
  });

  it('answers only GET and HEAD', async () => {
    const response = await fetch(`${baseUrl}/metrics`, { method: 'POST' });
    expect(response.status).toBe(405);
    await response.body?.cancel();
  });

  it('exports process metrics from a registry of its own, so two apps never share figures', async () => {
    const first = createMetrics({ engineStatus: () => undefined });
    const second = createMetrics({ engineStatus: () => undefined });
    // prom-client counts CPU time from the registry's creation, and the kernel accounts it in clock ticks, so a
    // read right after creation can be 0. Work until this process has been charged some user time since then.
    const created = process.cpuUsage();
    for (const deadline = performance.now() + 10_000; process.cpuUsage(created).user === 0;) {
      if (performance.now() > deadline) throw new Error('no user CPU time was accounted within 10 s of work');
    }
    first.recordSentiment({ label: 'positive', source: 'query', locale: 'en' });
    const firstSamples = parseExposition(await first.registry.metrics());
    const secondSamples = parseExposition(await second.registry.metrics());
    expect(valueOf(firstSamples, 'allinone_sentiments_total')).toBe(1);
    expect(valueOf(secondSamples, 'allinone_sentiments_total')).toBe(0);
    expect(valueOf(firstSamples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // While the model loads there is no load time to report, and no model to describe.
    expect(valueOf(firstSamples, 'allinone_model_load_seconds')).toBe(0);
    expect(firstSamples.some((sample) => sample.name === 'allinone_model_info')).toBe(false);
  });
});

describe('METRICS_AUTH', () => {
  const KEY = 'metrics-test-key-0123456789';

  /** Runs `use` against a second app (no model needed) with these settings, listening on loopback. */
  async function withApp<T>(env: Record<string, string>, use: (url: string) => Promise<T>): Promise<T> {
    const guarded = createTestService(path.join(scratch.dir, 'auth.db'), undefined, env);
    try {
      const { port } = await guarded.app.start(0, '127.0.0.1');
      return await use(`http://127.0.0.1:${port}`);
    } finally {
      await guarded.app.stop();
      guarded.database.close();
    }
  }

  async function metricsStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
    const response = await fetch(`${url}/metrics`, { headers });
    await response.body?.cancel();
    return response.status;
  }

  it('asks for an API key once keys are configured, and counts requests refused for want of one', async () => {
    await withApp({ API_KEYS: KEY }, async (url) => {
      expect(await metricsStatus(url)).toBe(401);
      const refused = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ engine { ready } }' }),
      });
      expect(refused.status).toBe(401);
      await refused.body?.cancel();
      const scraped = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(scraped.status).toBe(200);
      const samples = parseExposition(await scraped.text());
      expect(valueOf(samples, 'allinone_graphql_operations_total', operation('unknown', 'unknown', 'HTTP_401'))).toBe(1);
    });
  });

  it('lets anyone read them with METRICS_AUTH=false (a scraper on a private network)', async () => {
    await withApp({ API_KEYS: KEY, METRICS_AUTH: 'false' }, async (url) => expect(await metricsStatus(url)).toBe(200));
  });

  it('refuses METRICS_AUTH without API_KEYS, naming the variable', () => {
    expect(() => loadConfig({ METRICS_AUTH: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_AUTH: 'true' })).toThrow(/^METRICS_AUTH: needs API_KEYS/);
  });
});

describe('engine job reports', () => {
  it('says how each job ended: a refused abort, a reply stopped mid-way', async () => {
    const reported = jobEvents.length;
    await expect(classifySentiment(engine, 'too late', { locale: 'en', signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    const stopping = new AbortController();
    const request = { history: [], message: 'tell me a story', locale: 'en' as const, maxTokens: 64, temperature: 0 };
    const stream = engine.chat(request, { signal: stopping.signal });
    for await (const _delta of stream) stopping.abort();
    const result = await stream.result;
    expect(result.finishReason).toBe('aborted');

    const [refused, stopped] = jobEvents.slice(reported);
    expect(refused).toMatchObject({ kind: 'sentiment', outcome: 'ABORTED', tokens: 0 });
    expect(refused!.timeToFirstTokenMs).toBeUndefined();
    expect(stopped).toMatchObject({ kind: 'chat', outcome: 'ABORTED', tokens: result.completionTokens });
    expect(stopped!.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    expect(stopped!.latencyMs).toBeGreaterThanOrEqual(stopped!.timeToFirstTokenMs!);
  });
});

describe('request ids and operation logs', () => {
  it('echoes a caller-supplied x-request-id and makes one up otherwise (also for a malformed one)', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ engine { ready } }' }),
      });
    const given = await post({ 'x-request-id': 'trace-42' });
    const made = await post({});
    const malformed = await post({ 'x-request-id': 'two words' });
    await Promise.all([given, made, malformed].map((response) => response.body?.cancel()));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(given.headers.get('x-request-id')).toBe('trace-42');
    expect(made.headers.get('x-request-id')).toMatch(uuid);
    expect(malformed.headers.get('x-request-id')).toMatch(uuid);
  });

  it('logs each operation once with its id, name, outcome and duration, never the message text', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const logged = createApp({ services: service.services, config: service.config.http, logger: pino({ level: 'info' }, sink) });
    leftovers.push({ close: () => logged.stop() });
    const secret = 'my very private worry';
    const response = await logged.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `mutation Vent { chat(input: { message: "${secret}", locale: EN, maxTokens: 4 }) { reply { id } } }`,
      }),
    });
    expect((await response.json()) as object).not.toHaveProperty('errors');

    const operations = lines.filter((line) => line['msg'] === 'graphql operation');
    expect(operations).toHaveLength(1);
    expect(operations[0]).toMatchObject({
      operationName: 'Vent',
      operationType: 'mutation',
      outcome: 'ok',
      transport: 'http',
    });
    expect(operations[0]!['requestId']).toEqual(expect.any(String));
    expect(operations[0]!['durationMs']).toEqual(expect.any(Number));
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
