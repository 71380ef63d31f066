// A bounded load on loopback against the real process: 64 clients mixing sentiment queries and chat streams
// (HTTP, SSE, graphql-ws) for a fixed time, then stopping. No crash, every request ends in a result or
// ENGINE_BUSY/TIMEOUT, queued jobs are served in order, and memory settles after the load.
// `npm test` runs a few seconds of it; `npm run test:reliability` (RELIABILITY=full) runs a minute and writes
// its figures to .tmp/reliability/load.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startService, stopProcess, type ServiceProcess } from './support/serviceProcess.js';
import { createScratchDir } from './support/testApp.js';

const FULL = process.env['RELIABILITY'] === 'full';
/** The full run is long by design; the short one keeps the suite's default limit. */
const TEST_LIMIT_MS = FULL ? 600_000 : 60_000;
const CLIENTS = 64;
const PROBES = 8;
/**
 * Every client has at most one engine job at a time, so with room for all of them (and the probes) the queue
 * holds every job the load makes: the order probe is never refused, and the burst below is what overflows it.
 */
const MAX_QUEUE = CLIENTS + PROBES;
const BURST = 2 * MAX_QUEUE;
const DURATION_MS = FULL ? 60_000 : 3_000;
const KEYS = ['load-key-0-0123456789abcdef', 'load-key-1-0123456789abcdef', 'load-key-2-0123456789abcdef', 'load-key-3-0123456789abcdef'];
/** Refusals the service promises under load; anything else is a failure. */
const REFUSALS = ['ENGINE_BUSY', 'TIMEOUT'];
/** RSS after the load may exceed the level before it by this much (allocator caches, JIT), not by the load's size. */
const SETTLED_RSS_MARGIN_BYTES = 64 * 1024 * 1024;
const MEMORY_SAMPLE_MS = 250;
const SETTLE_POLLS = 40;

const scratch = createScratchDir('aio-load-');
const leftovers: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  scratch.remove();
});

type Outcome = 'ok' | string;

/** A small deterministic PRNG per client, so a run's mix of requests is repeatable. */
function randomOf(seed: number): () => number {
  let state = seed * 2654435761 + 1;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function codeOf(errors: readonly any[] | undefined): Outcome {
  return errors?.length ? String(errors[0]?.extensions?.code ?? errors[0]?.message) : 'ok';
}

class LoadClient {
  readonly #service: ServiceProcess;
  readonly #key: string;
  readonly #random: () => number;
  readonly ws: Client;

  constructor(service: ServiceProcess, index: number) {
    this.#service = service;
    this.#key = KEYS[index % KEYS.length]!;
    this.#random = randomOf(index + 1);
    this.ws = createClient({
      url: service.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: `Bearer ${this.#key}` },
    });
  }

  /** One request of a random kind; resolves with its outcome, never rejects. */
  async next(): Promise<{ kind: string; outcome: Outcome; tokens: number }> {
    const roll = this.#random();
    const locale = this.#random() < 0.5 ? 'EN' : 'ZH';
    const maxTokens = 8 + Math.floor(this.#random() * 17);
    const message = `load ${roll.toFixed(6)}: how are you today?`;
    try {
      if (roll < 0.4) return { kind: 'sentiment', outcome: await this.#http('query ($t: String!, $l: Locale) { sentiment(text: $t, locale: $l) { label } }', { t: message, l: locale }), tokens: 0 };
      if (roll < 0.55) return { kind: 'sentiments', outcome: await this.#http('query ($l: Locale) { sentiments(texts: ["good", "bad", "so-so", "fine"], locale: $l) { label } }', { l: locale }), tokens: 0 };
      if (roll < 0.8) return { kind: 'chatStream:ws', ...(await this.#wsStream({ message, locale, maxTokens, temperature: 0.7, seed: 1 })) };
      if (roll < 0.9) return { kind: 'chatStream:sse', ...(await this.#sseStream({ message, locale, maxTokens })) };
      return { kind: 'chat', outcome: await this.#http('mutation ($i: ChatInput!) { chat(input: $i) { reply { status } } }', { i: { message, locale, maxTokens } }), tokens: 0 };
    } catch (error) {
      return { kind: 'transport', outcome: `transport error: ${error instanceof Error ? error.message : JSON.stringify(error)}`, tokens: 0 };
    }
  }

  async #http(query: string, variables: object): Promise<Outcome> {
    const response = await fetch(`${this.#service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#key}` },
      body: JSON.stringify({ query, variables }),
    });
    return codeOf(((await response.json()) as { errors?: any[] }).errors);
  }

  async #wsStream(input: object): Promise<{ outcome: Outcome; tokens: number }> {
    let tokens = 0;
    let done = false;
    try {
      for await (const result of this.ws.iterate({ query: CHAT_STREAM, variables: { input } })) {
        if (result.errors) return { outcome: codeOf(result.errors), tokens };
        const event = (result.data as any).chatStream;
        if (event.__typename === 'ChatToken') tokens += 1;
        if (event.__typename === 'ChatDone') done = true;
      }
    } catch (error) {
      return { outcome: Array.isArray(error) ? codeOf(error) : `closed ${(error as { code?: number }).code}`, tokens };
    }
    return { outcome: done ? 'ok' : 'stream ended without ChatDone', tokens };
  }

  async #sseStream(input: object): Promise<{ outcome: Outcome; tokens: number }> {
    const response = await fetch(`${this.#service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${this.#key}` },
      body: JSON.stringify({ query: CHAT_STREAM, variables: { input } }),
    });
    const text = await response.text();
    const payloads = text
      .split('\n')
      .filter((line) => line.startsWith('data:') && line.length > 6)
      .map((line) => JSON.parse(line.slice(5)) as { data?: any; errors?: any[] });
    const failed = payloads.find((payload) => payload.errors);
    const tokens = payloads.filter((payload) => payload.data?.chatStream?.__typename === 'ChatToken').length;
    if (failed) return { outcome: codeOf(failed.errors), tokens };
    return { outcome: payloads.some((payload) => payload.data?.chatStream?.__typename === 'ChatDone') ? 'ok' : 'stream ended without ChatDone', tokens };
  }
}

const CHAT_STREAM = 'subscription ($input: ChatInput!) { chatStream(input: $input) { __typename } }';

/**
 * Sentiment queries pipelined on one socket reach one engine lane in the order they were sent; the engine
 * must answer them in that order (FIFO), whatever else is queued. Returns the order the answers came in.
 */
async function probeOrder(service: ServiceProcess, count: number): Promise<{ answered: number[]; refused: number }> {
  const probe = createClient({ url: service.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined, connectionParams: { authorization: `Bearer ${KEYS[0]}` } });
  leftovers.push(() => probe.dispose());
  const answered: number[] = [];
  let refused = 0;
  await Promise.all(
    Array.from({ length: count }, (_, index) =>
      new Promise<void>((resolve) => {
        probe.subscribe(
          { query: 'query ($t: String!) { sentiment(text: $t, locale: EN) { label } }', variables: { t: `probe ${index}` } },
          {
            next: (result) => (result.errors ? (refused += 1) : answered.push(index)),
            error: () => {
              refused += 1;
              resolve();
            },
            complete: resolve,
          },
        );
      }),
    ),
  );
  return { answered, refused };
}

/** Many long jobs at once, more than the queue holds: each ends in a result or an immediate ENGINE_BUSY. */
async function burst(service: ServiceProcess): Promise<Map<Outcome, number>> {
  const texts = Array.from({ length: 4 }, (_, index) => `burst text ${index}`);
  const outcomes = await Promise.all(
    Array.from({ length: BURST }, async (_, index) => {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS[index % KEYS.length]}` },
        body: JSON.stringify({ query: 'query ($t: [String!]!) { sentiments(texts: $t, locale: EN) { label } }', variables: { t: texts } }),
      });
      return codeOf(((await response.json()) as { errors?: any[] }).errors);
    }),
  );
  const tally = new Map<Outcome, number>();
  for (const outcome of outcomes) tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  return tally;
}

async function engineIdle(service: ServiceProcess): Promise<boolean> {
  const response = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS[0]}` },
    body: JSON.stringify({ query: '{ engine { queueDepth runningJobs } }' }),
  });
  const { data } = (await response.json()) as { data: { engine: { queueDepth: number; runningJobs: string[] } } };
  return data.engine.queueDepth === 0 && data.engine.runningJobs.length === 0;
}

describe('load', () => {
  it(`holds ${CLIENTS} concurrent clients for ${DURATION_MS / 1000} s`, async () => {
    const service = await startService({
      DATABASE_PATH: path.join(scratch.dir, 'load.db'),
      API_KEYS: KEYS.join(','),
      CONTEXT_SIZE: '2048',
      MAX_QUEUE: String(MAX_QUEUE),
      // Sized for every client at once: this test is about the whole queue, not one key's share of it.
      MAX_QUEUE_PER_KEY: String(MAX_QUEUE),
    });
    leftovers.push(() => stopProcess(service));
    const clients = Array.from({ length: CLIENTS }, (_, index) => new LoadClient(service, index));
    leftovers.push(() => Promise.all(clients.map((client) => client.ws.dispose())));

    // Warm up (first requests compile code paths and fill caches), then take the baseline.
    for (const client of clients.slice(0, 4)) await client.next();
    const baseline = service.memory().rssBytes;
    let peakRss = baseline;
    const sampler = setInterval(() => {
      if (service.child.exitCode === null) peakRss = Math.max(peakRss, service.memory().rssBytes);
    }, MEMORY_SAMPLE_MS);
    leftovers.push(() => clearInterval(sampler));

    const tally = new Map<string, number>();
    const failures: string[] = [];
    let tokens = 0;
    const startedAt = Date.now();
    const deadline = startedAt + DURATION_MS;
    const probes = sleep(DURATION_MS / 3).then(() => probeOrder(service, PROBES));
    await Promise.all(
      clients.map(async (client) => {
        while (Date.now() < deadline) {
          const { kind, outcome, tokens: streamed } = await client.next();
          tokens += streamed;
          tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
          if (outcome !== 'ok' && !REFUSALS.includes(outcome)) failures.push(`${kind}: ${outcome}`);
          // A refused client backs off a little, as a well-behaved one would.
          if (REFUSALS.includes(outcome)) await sleep(100);
        }
      }),
    );
    const elapsedMs = Date.now() - startedAt;
    const order = await probes;
    clearInterval(sampler);

    expect(failures).toEqual([]);
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(tally.get('ok') ?? 0).toBeGreaterThan(CLIENTS);
    // The probes were queued behind the load's jobs and were answered in the order they were sent.
    expect(order).toEqual({ answered: Array.from({ length: PROBES }, (_, index) => index), refused: 0 });
    const burstTally = await burst(service);
    expect([...burstTally.keys()].filter((outcome) => outcome !== 'ok' && !REFUSALS.includes(outcome))).toEqual([]);

    // After the load: the engine drains and memory comes back near where it was.
    for (let poll = 0; poll < SETTLE_POLLS && !(await engineIdle(service)); poll++) await sleep(250);
    expect(await engineIdle(service)).toBe(true);
    let settledRss = service.memory().rssBytes;
    for (let poll = 0; poll < SETTLE_POLLS && settledRss > baseline + SETTLED_RSS_MARGIN_BYTES; poll++) {
      await sleep(250);
      settledRss = service.memory().rssBytes;
    }
    expect(settledRss).toBeLessThanOrEqual(baseline + SETTLED_RSS_MARGIN_BYTES);
    peakRss = Math.max(peakRss, service.memory().peakRssBytes);

    // And it still stops cleanly, with nothing unhandled on the way.
    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.stderr()).not.toMatch(/Unhandled|^\s+at /m);

    const requests = [...tally.values()].reduce((sum, count) => sum + count, 0);
    const summary = {
      clients: CLIENTS,
      durationS: Math.round(elapsedMs / 100) / 10,
      requests,
      served: tally.get('ok') ?? 0,
      refusedBusy: tally.get('ENGINE_BUSY') ?? 0,
      refusedTimeout: tally.get('TIMEOUT') ?? 0,
      streamedTokens: tokens,
      fifoProbe: `${order.answered.length} of ${PROBES} queued probes answered in order`,
      burst: { requests: BURST, served: burstTally.get('ok') ?? 0, refusedBusy: burstTally.get('ENGINE_BUSY') ?? 0 },
      baselineRssMiB: Math.round(baseline / 2 ** 20),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      settledRssMiB: Math.round(settledRss / 2 ** 20),
    };
    if (FULL) {
      mkdirSync('.tmp/reliability', { recursive: true });
      writeFileSync('.tmp/reliability/load.json', `${JSON.stringify(summary, null, 2)}\n`);
    }
    console.log(`load: ${JSON.stringify(summary)}`);
  }, TEST_LIMIT_MS);
});
