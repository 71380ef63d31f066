// The chat page in Debian's Chromium against the real service on the tiny model: badge first, tokens, Stop, reload.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.js';
import {
  launchChromium,
  openPage,
  pageSettled,
  recordSockets,
  recordTurnTimeline,
  waitForLastReply,
  type OpenedPage,
} from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type TestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-chat-page-');
/** Room for a reply long enough that Stop always lands mid-stream (replies may use half the context). */
const LONG_REPLY_TOKENS = 4000;

let engine: Engine;
let service: TestService;
let browser: Browser;
let baseUrl: string;
const opened: OpenedPage[] = [];

beforeAll(async () => {
  engine = await loadTestEngine({ contextSize: 2 * LONG_REPLY_TOKENS + 192 });
  service = createTestService(path.join(scratch.dir, 'chat-page.db'), engine);
  const address = await service.app.start(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${address.port}`;
  browser = await launchChromium();
});

afterEach(async () => {
  for (const { context, errors } of opened.splice(0)) {
    await context.close();
    expect(errors).toEqual([]);
  }
});

afterAll(async () => {
  await browser?.close();
  await service.app.stop();
  service.database.close();
  await engine.dispose();
  scratch.remove();
});

async function open(url = '/', options: Parameters<typeof openPage>[2] = {}, prepare?: Parameters<typeof openPage>[3]) {
  const page = await openPage(browser, `${baseUrl}${url}`, options, prepare);
  opened.push(page);
  return page;
}

function storedTurn(conversationId: string) {
  return service.database.sqlite
    .prepare(
      `select m.role, m.content, m.status, m.token_count as tokenCount, s.label, s.confidence, s.locale
       from messages m left join sentiments s on s.message_id = m.id
       where m.conversation_id = ? order by m.created_at, m.id`,
    )
    .all(conversationId) as { role: string; content: string; status: string; tokenCount: number | null; label: string | null; confidence: number | null; locale: string | null }[];
}

const lastReply = (page: Page) => page.locator('[data-role="reply"]').last();
const lastUserMessage = (page: Page) => page.locator('[data-role="user-message"]').last();
const conversationIdOf = (page: Page) => page.evaluate(() => decodeURIComponent(location.hash.replace('#/chat/', '')));

async function setMaxTokens(page: Page, tokens: number): Promise<void> {
  await page.click('#settings-open');
  await page.fill('#max-tokens', String(tokens));
  await page.click('#settings-save');
}

describe('sending a message', () => {
  it('shows the sentiment badge before the first token, then the reply growing token by token', async () => {
    const { page } = await open('/', {}, recordTurnTimeline);
    const sockets = recordSockets(page);

    // Shift+Enter is a new line and sends nothing; Enter sends.
    await page.fill('#message-input', 'I failed my exam');
    await page.press('#message-input', 'Shift+Enter');
    await page.keyboard.type('but I will try again');
    expect(await page.inputValue('#message-input')).toBe('I failed my exam\nbut I will try again');
    expect(await page.locator('[data-role="user-message"]').count()).toBe(0);
    await page.press('#message-input', 'Enter');

    await waitForLastReply(page, 'complete');
    const timeline = await page.evaluate(() => (window as unknown as { turnTimeline: { badge: string | null; tokens: number; state: string | null }[] }).turnTimeline);
    const firstToken = timeline.findIndex((entry) => entry.tokens > 0);
    const firstBadge = timeline.findIndex((entry) => entry.badge !== null);
    // The verdict was on screen, with no reply text yet, before any token was.
    expect(firstBadge).toBeGreaterThanOrEqual(0);
    expect(firstBadge).toBeLessThan(firstToken);
    expect(timeline[firstBadge]!.tokens).toBe(0);
    // Tokens arrived one render at a time, and the count only grew.
    const counts = timeline.map((entry) => entry.tokens).filter((tokens) => tokens > 0);
    expect(new Set(counts).size).toBeGreaterThanOrEqual(3);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));

    const conversationId = await conversationIdOf(page);
    const [user, reply] = storedTurn(conversationId);
    expect(user).toMatchObject({ role: 'user', content: 'I failed my exam\nbut I will try again', status: 'complete', locale: 'en' });
    expect(await lastUserMessage(page).locator('.message__text').textContent()).toBe(user!.content);
    const badge = lastUserMessage(page).getByTestId('sentiment-badge');
    expect(await badge.getAttribute('data-label')).toBe(user!.label);
    expect(Number(await badge.getAttribute('data-confidence'))).toBe(user!.confidence);
    expect(await badge.textContent()).toMatch(/LLM sentiment: (positive|negative|neutral)confidence \d+%/);
    expect(reply).toMatchObject({ role: 'assistant', status: 'complete' });
    expect(await lastReply(page).locator('.message__text').textContent()).toBe(reply!.content);
    expect(await lastReply(page).locator('.message__meta').textContent()).toContain(`${reply!.tokenCount} tokens`);

    // The new conversation heads the list and is selected; the stream went over graphql-ws in English.
    const first = page.locator('.conversation-link').first();
    expect(await first.getAttribute('data-conversation-id')).toBe(conversationId);
    expect(await first.getAttribute('aria-current')).toBe('page');
    const subscribe = sockets.flatMap((socket) => socket.sent).find((message) => message.type === 'subscribe');
    expect(subscribe?.payload.variables.input).toMatchObject({ message: user!.content, locale: 'EN' });
    expect(await page.isDisabled('#send')).toBe(false);
    expect(await page.isHidden('#stop')).toBe(true);
  });

  it('continues the selected conversation', async () => {
    const { page } = await open();
    await page.fill('#message-input', 'first message');
    await page.press('#message-input', 'Enter');
    await waitForLastReply(page, 'complete');
    const conversationId = await conversationIdOf(page);
    await page.fill('#message-input', 'second message');
    await page.click('#send');
    await page.locator('[data-role="reply"]').nth(1).waitFor();
    await waitForLastReply(page, 'complete');
    expect(await conversationIdOf(page)).toBe(conversationId);
    expect(storedTurn(conversationId).map((row) => [row.role, row.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
  });
});

describe('stopping a reply', () => {
  it('keeps the partial reply marked stopped, stores it as ABORTED, and shows it again after a reload', async () => {
    const { page } = await open();
    await setMaxTokens(page, LONG_REPLY_TOKENS);
    await page.fill('#message-input', 'tell me a very long story');
    await page.press('#message-input', 'Enter');
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-role="reply"]')?.dataset.tokens) >= 3);
    await page.click('#stop');

    const reply = lastReply(page);
    expect(await reply.getAttribute('data-state')).toBe('stopped');
    expect(await reply.locator('.message__note').textContent()).toBe('Stopped: the reply was cut short.');
    expect(await page.isHidden('#stop')).toBe(true);
    const partial = (await reply.locator('.message__text').textContent())!;
    expect(partial.length).toBeGreaterThan(0);

    const conversationId = await conversationIdOf(page);
    await expect.poll(() => storedTurn(conversationId).map((row) => row.status), { timeout: 10_000 }).toEqual(['complete', 'aborted']);
    const stored = storedTurn(conversationId)[1]!;
    // The server may have produced a token or two more before it saw the unsubscribe, never fewer.
    expect(stored.content.startsWith(partial)).toBe(true);
    expect(stored.tokenCount).toBeLessThan(LONG_REPLY_TOKENS);

    // A reload keeps the conversation open (its id is in the address) and shows the stored, stopped reply.
    await page.reload();
    await pageSettled(page);
    await page.locator('.conversation-link[aria-current="page"]').waitFor();
    expect(await page.locator('.conversation-link').first().getAttribute('data-conversation-id')).toBe(conversationId);
    await reply.waitFor();
    expect(await reply.getAttribute('data-state')).toBe('stopped');
    expect(await reply.locator('.message__text').textContent()).toBe(stored.content);
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').getAttribute('data-label')).toBe(storedTurn(conversationId)[0]!.label);

    // From a fresh start, the conversation is found in the list and opens on a click.
    await page.goto(`${baseUrl}/`);
    await page.locator(`.conversation-link[data-conversation-id="${conversationId}"]`).click();
    await reply.waitFor();
    expect(await reply.getAttribute('data-state')).toBe('stopped');
    expect(await conversationIdOf(page)).toBe(conversationId);
  });
});

describe('language, phone width and API key', () => {
  it('follows a Chinese browser, fits a phone screen, and switches to English on request', async () => {
    const { page } = await open('/', { locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const sockets = recordSockets(page);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('#tab-chat')).toBe('聊天');
    expect(await page.textContent('#send')).toBe('发送');
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);

    await page.fill('#message-input', '今天好累');
    await page.press('#message-input', 'Enter');
    await waitForLastReply(page, 'complete');
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').textContent()).toMatch(/LLM 情感判断: (正面|负面|中性)置信度 \d+%/);
    const subscribe = sockets.flatMap((socket) => socket.sent).find((message) => message.type === 'subscribe');
    expect(subscribe?.payload.variables.input.locale).toBe('ZH');
    expect(storedTurn(await conversationIdOf(page))[0]!.locale).toBe('zh');
    expect(await fits()).toBe(true);

    // On a phone the conversation list is a drawer.
    expect(await page.locator('#sidebar').isVisible()).toBe(false);
    await page.click('#drawer-toggle');
    await page.locator('#sidebar.sidebar--open').waitFor();
    expect(await page.locator('.conversation-link').first().isVisible()).toBe(true);
    await page.locator('.conversation-link').first().click();
    await page.locator('#sidebar:not(.sidebar--open)').waitFor({ state: 'attached' });

    await page.click('#locale-toggle');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.textContent('#tab-chat')).toBe('Chat');
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').textContent()).toMatch(/LLM sentiment: (positive|negative|neutral)/);
    await page.reload();
    await pageSettled(page);
    expect(await page.textContent('#send')).toBe('Send');
  });

  it('sends a stored API key as a Bearer token over HTTP and in the WebSocket connection_init', async () => {
    const { page } = await open();
    const sockets = recordSockets(page);
    const httpAuthorization: (string | undefined)[] = [];
    await page.click('#settings-open');
    await page.fill('#api-key', 'aio-test-key');
    // The page's first requests are answered by now (openPage waits for them): every later one carries the key.
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql') httpAuthorization.push(request.headers().authorization);
    });
    await page.click('#settings-save');
    expect(await page.evaluate(() => localStorage.getItem('aio.apiKey'))).toBe('aio-test-key');

    await page.fill('#message-input', 'hello with a key');
    await page.press('#message-input', 'Enter');
    await waitForLastReply(page, 'complete');
    await page.locator('.conversation-link').first().waitFor();
    expect(httpAuthorization.length).toBeGreaterThan(0);
    expect(new Set(httpAuthorization)).toEqual(new Set(['Bearer aio-test-key']));
    const init = sockets.flatMap((socket) => socket.sent).find((message) => message.type === 'connection_init');
    expect(init?.payload).toEqual({ authorization: 'Bearer aio-test-key' });
  });
});
