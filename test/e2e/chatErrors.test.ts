// The chat page when things go wrong, in Debian's Chromium: timeouts, a busy engine, a lost server, a proxy that
// blocks WebSockets, a server that wants an API key. Each is shown in words, with a way forward.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Engine } from '../../src/engine/index.js';
import { launchChromium, openPage, recordSockets, waitForLastReply, type OpenedPage } from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-chat-errors-');
const LONG_REPLY_TOKENS = 4000;
const CONTEXT_SIZE = 2 * LONG_REPLY_TOKENS + 192;
const API_KEY = 'browser-test-key-0123456789';

let browser: Browser;
const opened: OpenedPage[] = [];
/** Everything a test started, closed in reverse order after it (engines after the services using them). */
const leftovers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});

afterEach(async () => {
  for (const { context } of opened.splice(0)) await context.close();
  for (const close of leftovers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await browser?.close();
  scratch.remove();
});

async function engineWith(options: Parameters<typeof loadTestEngine>[0] = {}): Promise<Engine> {
  const engine = await loadTestEngine({ contextSize: CONTEXT_SIZE, ...options });
  leftovers.push(() => engine.dispose());
  return engine;
}

/** A started service on `engine`; stopped after the test unless the test stops it itself. */
async function serve(
  engine: Engine,
  name: string,
  { port = 0, env = {} }: { port?: number; env?: Record<string, string> } = {},
) {
  const service = createTestService(path.join(scratch.dir, `${name}.db`), engine, env);
  const address = await service.app.start(port, '127.0.0.1');
  let stopped = false;
  let closed = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await service.app.stop();
  };
  const close = async () => {
    await stop();
    if (closed) return;
    closed = true;
    service.database.close();
  };
  leftovers.push(close);
  return { service, port: address.port, url: `http://127.0.0.1:${address.port}`, stop, close };
}

async function open(url: string, options: Parameters<typeof openPage>[2] = {}): Promise<OpenedPage> {
  const page = await openPage(browser, url, options);
  opened.push(page);
  return page;
}

/** Sends `message` and returns the position its reply will have among the page's replies. */
async function send(page: Page, message: string, maxTokens?: number): Promise<number> {
  if (maxTokens) {
    await page.click('#settings-open');
    await page.fill('#max-tokens', String(maxTokens));
    await page.click('#settings-save');
  }
  const replyIndex = await page.locator('[data-role="reply"]').count();
  await page.fill('#message-input', message);
  await page.press('#message-input', 'Enter');
  return replyIndex;
}

const notice = (page: Page, code: string) => page.locator(`.notice[data-error-code="${code}"]`);
/** Waits until the reply at `replyIndex` has received `count` deltas (an earlier reply's never count). */
const untilTokens = (page: Page, replyIndex: number, count: number) =>
  page.waitForFunction(
    ([index, wanted]) =>
      Number(document.querySelectorAll<HTMLElement>('[data-role="reply"]')[index]?.dataset.tokens) >= wanted,
    [replyIndex, count] as const,
  );

function storedStatuses(service: SqliteTestService): string[] {
  return (
    service.database.sqlite.prepare(`select role || ':' || status as row from messages order by created_at, id`).all() as {
      row: string;
    }[]
  ).map(({ row }) => row);
}

describe('errors during a turn', () => {
  it('explains a TIMEOUT in words, keeps the partial reply marked failed, and offers a retry', async () => {
    const engine = await engineWith({ jobTimeoutMs: 400 });
    const { service, url } = await serve(engine, 'timeout');
    const { page, errors } = await open(url);
    await send(page, 'never ending', LONG_REPLY_TOKENS);

    await notice(page, 'TIMEOUT').waitFor();
    expect(await notice(page, 'TIMEOUT').locator('.notice__text').textContent()).toBe(
      'The reply took too long and was stopped. Please try again.',
    );
    expect(await notice(page, 'TIMEOUT').locator('.retry-button').isVisible()).toBe(true);
    await waitForLastReply(page, 'failed');
    expect(await page.isDisabled('#send')).toBe(false);
    await expect.poll(() => storedStatuses(service)).toEqual(['user:complete', 'assistant:failed']);
    expect(errors).toEqual([]);
  });

  it('explains ENGINE_BUSY, and Retry succeeds once the engine is free', async () => {
    // One chat at a time and no queue: a second chat while one streams is refused at once.
    const engine = await engineWith({ maxQueue: 0, maxParallelReplies: 1, warmConversations: 1 });
    const { url, port } = await serve(engine, 'busy');
    const other: Client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    leftovers.push(() => other.dispose());
    const holding = other.iterate({
      query: `subscription ($input: ChatInput!) { chatStream(input: $input) { __typename } }`,
      variables: { input: { message: 'someone else talking at length', maxTokens: LONG_REPLY_TOKENS } },
    });
    // Read (without `for await`, whose `break` would unsubscribe) until the other chat holds the only chat lane.
    for (;;) {
      const { value } = await holding.next();
      if ((value?.data?.chatStream as { __typename: string } | undefined)?.__typename === 'ChatToken') break;
    }
    expect(engine.status().runningJobs).toContain('chat');

    const { page, errors } = await open(url);
    await send(page, 'my turn please');
    await notice(page, 'ENGINE_BUSY').waitFor();
    expect(await notice(page, 'ENGINE_BUSY').locator('.notice__text').textContent()).toBe(
      'The assistant is busy with other conversations right now. Please try again in a moment.',
    );

    await holding.return?.();
    await expect.poll(() => engine.status().runningJobs, { timeout: 10_000 }).toEqual([]);
    await notice(page, 'ENGINE_BUSY').locator('.retry-button').click();
    await waitForLastReply(page, 'complete');
    expect(await notice(page, 'ENGINE_BUSY').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('says the connection was lost when the server goes away mid-reply, and Retry works once it is back', async () => {
    const engine = await engineWith();
    const first = await serve(engine, 'restart');
    const { page } = await open(first.url);
    await untilTokens(page, await send(page, 'a long answer please', LONG_REPLY_TOKENS), 3);

    await first.stop();
    await notice(page, 'CONNECTION_LOST').waitFor();
    expect(await notice(page, 'CONNECTION_LOST').locator('.notice__text').textContent()).toBe(
      'The connection to the server was lost.',
    );
    await waitForLastReply(page, 'failed');
    // The server stored what it had generated when the socket closed.
    await expect
      .poll(() => storedStatuses(first.service), { timeout: 10_000 })
      .toEqual(['user:complete', 'assistant:aborted']);
    await first.close();

    // Back on the same database and port, as after a restart.
    const second = await serve(engine, 'restart', { port: first.port });
    await page.click('#settings-open');
    await page.fill('#max-tokens', '');
    await page.click('#settings-save');
    await notice(page, 'CONNECTION_LOST').locator('.retry-button').click();
    await waitForLastReply(page, 'complete');
    expect(storedStatuses(second.service)).toEqual([
      'user:complete',
      'assistant:aborted',
      'user:complete',
      'assistant:complete',
    ]);
  });
});

describe('a proxy that refuses WebSockets', () => {
  it('falls back to SSE: the reply streams, and Stop still stores it as ABORTED', async () => {
    const engine = await engineWith();
    const { service, port } = await serve(engine, 'sse');
    const proxy = await startWebSocketRefusingProxy(port);
    leftovers.push(proxy.close);
    const { page, errors } = await open(proxy.url);
    const sockets = recordSockets(page);
    const eventStreams: string[] = [];
    page.on('request', (request) => {
      if (request.headers().accept === 'text/event-stream') eventStreams.push(request.url());
    });

    await send(page, 'hello through a strict proxy');
    await waitForLastReply(page, 'complete');
    expect(sockets.length).toBeGreaterThan(0);
    expect(eventStreams).toEqual([`${proxy.url}/graphql`]);
    expect(await page.getAttribute('[data-role="user-message"] [data-testid="sentiment-badge"]', 'data-label')).toMatch(
      /positive|negative|neutral/,
    );

    await untilTokens(page, await send(page, 'and now a long one', LONG_REPLY_TOKENS), 3);
    await page.click('#stop');
    await waitForLastReply(page, 'stopped');
    await expect
      .poll(() => storedStatuses(service), { timeout: 10_000 })
      .toEqual(['user:complete', 'assistant:complete', 'user:complete', 'assistant:aborted']);
    expect(eventStreams).toHaveLength(2);
    // Chromium logs the refused upgrade itself; the page tried the socket once and then stayed on SSE.
    expect(errors).toEqual([expect.stringMatching(/^console: WebSocket connection to '.*\/graphql' failed/)]);
  });
});

describe('a server that requires an API key', () => {
  it('asks for the key, then works with it over HTTP and WebSocket', async () => {
    const engine = await engineWith();
    const { url } = await serve(engine, 'auth', { env: { API_KEYS: API_KEY } });
    const { page } = await open(url);
    await page.locator('#settings-dialog[open] #settings-reason').waitFor();
    expect(await page.textContent('#settings-reason')).toBe('This server requires an API key. Enter it to continue.');

    await page.fill('#api-key', API_KEY);
    await page.click('#settings-save');
    await page.waitForSelector('#model-status[data-state="ready"]', { state: 'attached' });
    await send(page, 'let me in');
    await waitForLastReply(page, 'complete');
    await page.waitForSelector('.conversation-link');

    // A wrong key is refused on the socket too (close 4403): the page says so and asks again.
    await page.evaluate(() => localStorage.setItem('aio.apiKey', 'not-the-right-key-at-all'));
    await page.reload();
    await page.locator('#settings-dialog[open] #settings-reason').waitFor();
    await page.click('#settings-cancel');
    await send(page, 'wrong key');
    // The reloaded conversation may fail to load with the same code first; the turn's notice comes last.
    await notice(page, 'UNAUTHENTICATED').last().waitFor();
    await page.locator('#settings-dialog[open] #settings-reason').waitFor();
  });
});

/** A reverse proxy like some corporate ones: plain HTTP (and streamed responses) pass, WebSocket upgrades are dropped. */
async function startWebSocketRefusingProxy(targetPort: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.once('error', () => res.destroy());
    // The browser cancelling its stream must reach the server, or Stop would not stop anything.
    res.once('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (_req, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
