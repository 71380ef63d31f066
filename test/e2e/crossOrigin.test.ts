// A frontend on another port, in a real browser: it reaches the API only once ALLOWED_ORIGINS names it.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.js';
import { launchChromium } from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-cross-origin-');
let engine: Engine;
let browser: Browser;
let frontend: Server;
let frontendOrigin: string;
const services: SqliteTestService[] = [];

/**
 * What a frontend does with the API: a JSON POST (preflighted), an EventSource GET and a graphql-ws socket.
 * Each reports "ok: …" or the error the browser gave the page.
 */
const FRONTEND_PAGE = `<!doctype html><meta charset="utf-8"><title>frontend</title><script type="module">
const api = new URLSearchParams(location.search).get('api');
const results = {};
const post = fetch('http://' + api + '/graphql', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: '{ conversations(first: 5) { edges { node { id } } } }' }),
}).then((r) => r.json()).then((body) => 'ok: ' + JSON.stringify(body.data), (e) => 'error: ' + e.name);
const sse = new Promise((resolve) => {
  const query = encodeURIComponent('subscription { chatStream(input: { message: "hi", maxTokens: 2 }) { __typename } }');
  const source = new EventSource('http://' + api + '/graphql?query=' + query);
  source.addEventListener('next', (event) => { source.close(); resolve('ok: ' + JSON.parse(event.data).data.chatStream.__typename); });
  source.onerror = () => { source.close(); resolve('error'); };
});
const ws = new Promise((resolve) => {
  const socket = new WebSocket('ws://' + api + '/graphql', 'graphql-transport-ws');
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init' }));
  socket.onmessage = (event) => { socket.close(); resolve('ok: ' + JSON.parse(event.data).type); };
  socket.onerror = () => resolve('error');
});
Promise.all([post, sse, ws]).then(([p, s, w]) => {
  document.body.dataset.results = JSON.stringify({ post: p, sse: s, ws: w });
});
</script>`;

beforeAll(async () => {
  engine = await loadTestEngine();
  frontend = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(FRONTEND_PAGE);
  });
  const port = await new Promise<number>((resolve) =>
    frontend.listen(0, '127.0.0.1', () => resolve((frontend.address() as { port: number }).port)),
  );
  frontendOrigin = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => frontend.close(() => resolve()));
  for (const service of services) {
    await service.app.stop();
    service.database.close();
  }
  await engine.dispose();
  scratch.remove();
});

async function resultsAgainst(
  env: Record<string, string>,
): Promise<{ results: Record<string, string>; conversations: number }> {
  const service = createTestService(path.join(scratch.dir, `${services.length}.db`), engine, env);
  services.push(service);
  const { port } = await service.app.start(0, '127.0.0.1');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${frontendOrigin}/?api=127.0.0.1:${port}`);
    await page.waitForFunction(() => document.body.dataset.results !== undefined);
    const results = JSON.parse((await page.getAttribute('body', 'data-results'))!) as Record<string, string>;
    const { n } = service.database.sqlite.prepare('select count(*) as n from conversations').get() as { n: number };
    return { results, conversations: n };
  } finally {
    await context.close();
  }
}

describe('a frontend served from another port', () => {
  it('gets nothing by default: no answer to read, no stream, no socket, nothing stored', async () => {
    const { results, conversations } = await resultsAgainst({});
    expect(results).toEqual({ post: 'error: TypeError', sse: 'error', ws: 'error' });
    expect(conversations).toBe(0);
  });

  it('works over POST, EventSource and graphql-ws once ALLOWED_ORIGINS names it', async () => {
    const { results, conversations } = await resultsAgainst({ ALLOWED_ORIGINS: frontendOrigin });
    expect(results).toEqual({
      post: 'ok: {"conversations":{"edges":[]}}',
      sse: 'ok: ChatStarted',
      ws: 'ok: connection_ack',
    });
    expect(conversations).toBe(1);
  });
});
