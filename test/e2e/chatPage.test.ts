// The chat page in Chromium against the real service on the tiny model: badge and task chips first, tokens, Stop, reload.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadTaskDefinitions, type Engine } from '../../src/engine/index.js';
import {
  launchChromium,
  openPage,
  pageSettled,
  recordSockets,
  recordTurnTimeline,
  turnTimeline,
  waitForLastReply,
  type OpenedPage,
} from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-chat-page-');
/** Room for a reply long enough that Stop always lands mid-stream (replies may use half the context). */
const LONG_REPLY_TOKENS = 4000;
/**
 * Tasks the page has no words of its own for: a classifier whose labels show as named, and an extractor whose
 * answer is an object (shown as JSON).
 */
const TASKS_FILE = {
  tasks: [
    {
      name: 'ticket',
      kind: 'classify',
      description: 'What a support ticket is about.',
      instruction: { en: 'Decide what this support ticket is about.', zh: '判断这张工单是关于什么的。' },
      labels: [
        { name: 'billing', description: { en: 'payments', zh: '付款' }, spellings: { en: ['billing'], zh: ['账单'] } },
        { name: 'shipping', description: { en: 'delivery', zh: '配送' }, spellings: { en: ['shipping'], zh: ['物流'] } },
      ],
    },
    {
      name: 'order',
      kind: 'extract',
      description: 'The item and whether it is urgent.',
      instruction: { en: 'Name the item and say whether it is urgent, as JSON.', zh: '以 JSON 说明物品以及是否紧急。' },
      schema: {
        type: 'object',
        properties: { item: { type: 'string', maxLength: 8 }, urgent: { type: 'boolean' } },
        required: ['item', 'urgent'],
      },
    },
  ],
};
const INTENT_IN_CHINESE: Record<string, string> = {
  question: '提问',
  request: '请求',
  complaint: '投诉',
  praise: '表扬',
  greeting: '问候',
  other: '其他',
};

let engine: Engine;
/** The default CHAT_TASKS: sentiment only. */
let service: SqliteTestService;
/** CHAT_TASKS=sentiment,intent,keywords. */
let tasksService: SqliteTestService;
/** TASKS_FILE's tasks in the chat, and no sentiment. */
let customService: SqliteTestService;
let browser: Browser;
let baseUrl: string;
let tasksUrl: string;
let customUrl: string;
const opened: OpenedPage[] = [];

beforeAll(async () => {
  const tasksFile = path.join(scratch.dir, 'tasks.json');
  writeFileSync(tasksFile, JSON.stringify(TASKS_FILE));
  engine = await loadTestEngine({ contextSize: 2 * LONG_REPLY_TOKENS + 192, tasks: loadTaskDefinitions(tasksFile) });
  service = createTestService(path.join(scratch.dir, 'chat-page.db'), engine);
  tasksService = createTestService(path.join(scratch.dir, 'chat-tasks.db'), engine, {
    CHAT_TASKS: 'sentiment,intent,keywords',
  });
  customService = createTestService(path.join(scratch.dir, 'chat-custom.db'), engine, {
    TASKS_FILE: tasksFile,
    CHAT_TASKS: 'intent,ticket,order',
  });
  const url = async (started: SqliteTestService) => `http://127.0.0.1:${(await started.app.start(0, '127.0.0.1')).port}`;
  baseUrl = await url(service);
  tasksUrl = await url(tasksService);
  customUrl = await url(customService);
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
  for (const started of [service, tasksService, customService]) {
    await started?.app.stop();
    started?.database.close();
  }
  await engine.dispose();
  scratch.remove();
});

async function open(
  url = '/',
  options: Parameters<typeof openPage>[2] = {},
  prepare?: Parameters<typeof openPage>[3],
  origin = baseUrl,
) {
  const page = await openPage(browser, `${origin}${url}`, options, prepare);
  opened.push(page);
  return page;
}

function storedTurn(conversationId: string) {
  return service.database.sqlite
    .prepare(
      `select m.role, m.content, m.status, m.token_count as tokenCount, s.label, s.confidence, s.locale
       from messages m left join task_results s on s.message_id = m.id and s.task = 'sentiment'
       where m.conversation_id = ? order by m.created_at, m.id`,
    )
    .all(conversationId) as {
    role: string;
    content: string;
    status: string;
    tokenCount: number | null;
    label: string | null;
    confidence: number | null;
    locale: string | null;
  }[];
}

interface StoredTaskResult {
  task: string;
  label: string | null;
  confidence: number | null;
  value: string | null;
}

/** What the chat's tasks stored for a message (its sentiment included), by task. */
function storedTaskResults(from: SqliteTestService, messageId: string): Map<string, StoredTaskResult> {
  const rows = from.database.sqlite
    .prepare('select task, label, confidence, value from task_results where message_id = ?')
    .all(messageId) as StoredTaskResult[];
  return new Map(rows.map((row) => [row.task, row]));
}

interface Chip {
  task: string;
  kind: string;
  label?: string;
  confidence?: number;
  value?: string;
  text: string;
  title: string;
}

/** The task chips of a message, in page order, as a reader and a test see them. */
function readChips(message: Locator): Promise<Chip[]> {
  return message.getByTestId('task-chip').evaluateAll((chips: HTMLElement[]) =>
    chips.map(({ dataset, textContent, title }) => ({
      task: dataset.task!,
      kind: dataset.kind!,
      ...(dataset.label === undefined ? {} : { label: dataset.label }),
      ...(dataset.confidence === undefined ? {} : { confidence: Number(dataset.confidence) }),
      ...(dataset.value === undefined ? {} : { value: dataset.value }),
      text: textContent ?? '',
      title,
    })),
  );
}

/** As the page writes a confidence, in either language. */
const percent = (value: number) => new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 0 }).format(value);

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
    const timeline = await turnTimeline(page);
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
    expect(user).toMatchObject({
      role: 'user',
      content: 'I failed my exam\nbut I will try again',
      status: 'complete',
      locale: 'en',
    });
    expect(await lastUserMessage(page).locator('.message__text').textContent()).toBe(user!.content);
    const badge = lastUserMessage(page).getByTestId('sentiment-badge');
    expect(await badge.getAttribute('data-label')).toBe(user!.label);
    expect(Number(await badge.getAttribute('data-confidence'))).toBe(user!.confidence);
    expect(await badge.textContent()).toMatch(/LLM sentiment: (positive|negative|neutral)confidence \d+%/);
    // CHAT_TASKS is sentiment alone by default: the badge, and no chips.
    expect(timeline.every((entry) => entry.chips === 0)).toBe(true);
    expect(await lastUserMessage(page).getByTestId('task-chip').count()).toBe(0);
    expect(await lastUserMessage(page).getByTestId('task-chips').isHidden()).toBe(true);
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
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('[data-role="reply"]')?.dataset.tokens) >= 3,
    );
    await page.click('#stop');

    const reply = lastReply(page);
    expect(await reply.getAttribute('data-state')).toBe('stopped');
    expect(await reply.locator('.message__note').textContent()).toBe('Stopped: the reply was cut short.');
    expect(await page.isHidden('#stop')).toBe(true);
    const partial = (await reply.locator('.message__text').textContent())!;
    expect(partial.length).toBeGreaterThan(0);

    const conversationId = await conversationIdOf(page);
    await expect
      .poll(() => storedTurn(conversationId).map((row) => row.status), { timeout: 10_000 })
      .toEqual(['complete', 'aborted']);
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
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').getAttribute('data-label')).toBe(
      storedTurn(conversationId)[0]!.label,
    );
    expect(await page.getByTestId('task-chip').count()).toBe(0);

    // From a fresh start, the conversation is found in the list and opens on a click.
    await page.goto(`${baseUrl}/`);
    await page.locator(`.conversation-link[data-conversation-id="${conversationId}"]`).click();
    await reply.waitFor();
    expect(await reply.getAttribute('data-state')).toBe('stopped');
    expect(await conversationIdOf(page)).toBe(conversationId);
  });
});

describe('stopping before the message is stored', () => {
  it('says nothing was sent, offers the text again, and a reload agrees: nothing was stored', async () => {
    // Another client's long turn holds the conversation, so the page's turn on it cannot store its message (and send
    // ChatStarted) until that turn ends, which happens only when this test ends it, after pressing Stop.
    const other: Client = createClient({ url: `${baseUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const holding = other.iterate({
      query: `subscription ($input: ChatInput!) { chatStream(input: $input) {
        __typename ... on ChatStarted { conversation { id } } } }`,
      variables: { input: { message: 'someone talking at length', maxTokens: LONG_REPLY_TOKENS } },
    });
    try {
      // Read (without `for await`, whose `break` would unsubscribe) until the other turn streams its reply.
      let conversationId = '';
      for (;;) {
        const event = (await holding.next()).value?.data?.chatStream as { __typename: string; conversation?: { id: string } };
        if (event?.conversation) conversationId = event.conversation.id;
        if (event?.__typename === 'ChatToken') break;
      }
      // The conversation as stored so far: the other turn's message (its reply is stored when it ends).
      const { page } = await open(`/#/chat/${conversationId}`);
      await lastUserMessage(page).waitFor();
      await page.fill('#message-input', 'are you there?');
      await page.press('#message-input', 'Enter');
      await page.locator('[data-role="user-message"][data-state="pending"]').waitFor();
      await page.click('#stop');

      const message = lastUserMessage(page);
      expect(await message.getAttribute('data-state')).toBe('unsent');
      expect(await message.getByTestId('not-sent').textContent()).toBe('Stopped before it was sent: nothing was stored.');
      expect(await page.inputValue('#message-input')).toBe('are you there?');
      // No reply claims to have been cut short: there was none.
      expect(await page.locator('[data-role="reply"]').count()).toBe(0);
      expect(await page.isHidden('#stop')).toBe(true);

      // The other turn ends (stopped here, so it was still running when Stop was pressed), and every turn settles.
      await holding.return?.();
      await service.services.chat.settle();
      expect(storedTurn(conversationId).map((row) => `${row.role}:${row.status}`)).toEqual([
        'user:complete',
        'assistant:aborted',
      ]);
      await page.reload();
      await pageSettled(page);
      await page.locator('[data-role="reply"][data-state="stopped"]').waitFor();
      expect(await page.locator('[data-role="user-message"]').allTextContents()).toEqual([
        expect.stringContaining('someone talking at length'),
      ]);
    } finally {
      await holding.return?.();
      await other.dispose();
    }
  });
});

describe('language, phone width and API key', () => {
  it('follows a Chinese browser, fits a phone screen, and switches to English on request', async () => {
    const { page } = await open('/', {
      locale: 'zh-CN',
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const sockets = recordSockets(page);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('#tab-chat')).toBe('聊天');
    expect(await page.textContent('#send')).toBe('发送');
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);

    await page.fill('#message-input', '今天好累');
    await page.press('#message-input', 'Enter');
    await waitForLastReply(page, 'complete');
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').textContent()).toMatch(
      /LLM 情感判断: (正面|负面|中性)置信度 \d+%/,
    );
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
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').textContent()).toMatch(
      /LLM sentiment: (positive|negative|neutral)/,
    );
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

describe('task results beside the badge', () => {
  it('shows the intent chip with the badge before the first token, keyword chips when their extraction ends, as stored, and after a reload (CHAT_TASKS=sentiment,intent,keywords)', async () => {
    // Chinese, at phone width: the tiny model finds keywords in a Chinese prompt (in an English one it answers []).
    const { page } = await open(
      '/',
      { locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
      recordTurnTimeline,
      tasksUrl,
    );
    await page.fill('#message-input', '我的包裹又丢了，这是第三次了！');
    await page.press('#message-input', 'Enter');
    await waitForLastReply(page, 'complete');

    const message = lastUserMessage(page);
    const stored = storedTaskResults(tasksService, (await message.getAttribute('data-message-id'))!);
    const intent = stored.get('intent')!;
    const keywords = JSON.parse(stored.get('keywords')!.value!) as string[];
    expect(Object.keys(INTENT_IN_CHINESE)).toContain(intent.label);
    // Guards the test itself: with no keywords there would be no keyword chip to check.
    expect(keywords.length).toBeGreaterThan(0);
    // The intent chip's words follow the page language; the confidence is its tooltip.
    const chips = ({ text, title }: { text: string; title: string }): Chip[] => [
      { task: 'intent', kind: 'label', label: intent.label!, confidence: intent.confidence!, text, title },
      ...keywords.map((keyword) => ({ task: 'keywords', kind: 'keyword', value: keyword, text: keyword, title: '' })),
    ];
    const inChinese = { text: `意图: ${INTENT_IN_CHINESE[intent.label!]}`, title: `置信度 ${percent(intent.confidence!)}` };
    const inEnglish = { text: `intent: ${intent.label}`, title: `confidence ${percent(intent.confidence!)}` };
    expect(await readChips(message)).toEqual(chips(inChinese));
    expect(await message.locator('.task-group[data-task="keywords"] > .task-chip__task').textContent()).toBe('关键词: ');

    // The intent chip came with the badge, in the same render, while the reply had no token yet; the keyword chips
    // came with their own event (keywords runs beside the reply), before the reply was done, and stayed.
    const timeline = await turnTimeline(page);
    const firstBadge = timeline.findIndex((entry) => entry.badge !== null);
    expect(firstBadge).toBeGreaterThanOrEqual(0);
    expect(timeline.slice(0, firstBadge).every((entry) => entry.chips === 0)).toBe(true);
    expect(timeline[firstBadge]).toMatchObject({ chips: 1, tokens: 0 });
    const allChips = timeline.findIndex((entry) => entry.chips === 1 + keywords.length);
    expect(allChips).toBeGreaterThan(firstBadge);
    expect(timeline[allChips]!.state).not.toBe('complete');
    expect(timeline.slice(allChips).every((entry) => entry.chips === 1 + keywords.length)).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

    // The page language applies to what the page translates; keywords stay as the model wrote them.
    await page.click('#locale-toggle');
    expect(await readChips(message)).toEqual(chips(inEnglish));

    // A reload shows the stored results the same way.
    await page.reload();
    await pageSettled(page);
    await page.locator('[data-role="user-message"][data-state="classified"]').waitFor();
    expect(await readChips(lastUserMessage(page))).toEqual(chips(inEnglish));
    expect(await lastUserMessage(page).getByTestId('sentiment-badge').getAttribute('data-label')).toMatch(
      /^(positive|negative|neutral)$/,
    );
  });

  it("shows TASKS_FILE's labels as named and an object answer as JSON, and no badge when sentiment is not among CHAT_TASKS", async () => {
    const { page } = await open('/', {}, undefined, customUrl);
    await page.fill('#message-input', 'Where is my parcel? I need it today.');
    await page.press('#message-input', 'Enter');
    await waitForLastReply(page, 'complete');

    const message = lastUserMessage(page);
    const stored = storedTaskResults(customService, (await message.getAttribute('data-message-id'))!);
    const [intent, ticket, order] = ['intent', 'ticket', 'order'].map((task) => stored.get(task)!);
    const json = JSON.stringify(JSON.parse(order!.value!));
    const expected: Chip[] = [
      {
        task: 'intent',
        kind: 'label',
        label: intent!.label!,
        confidence: intent!.confidence!,
        text: `intent: ${intent!.label}`,
        title: `confidence ${percent(intent!.confidence!)}`,
      },
      {
        task: 'ticket',
        kind: 'label',
        label: ticket!.label!,
        confidence: ticket!.confidence!,
        text: `ticket: ${ticket!.label}`,
        title: `confidence ${percent(ticket!.confidence!)}`,
      },
      { task: 'order', kind: 'json', value: json, text: `order: ${json}`, title: json },
    ];
    expect(await readChips(message)).toEqual(expected);
    expect(await message.getAttribute('data-state')).toBe('classified');
    expect(await message.getByTestId('sentiment-badge').count()).toBe(0);

    await page.reload();
    await pageSettled(page);
    await page.locator('[data-role="user-message"][data-state="classified"]').waitFor();
    expect(await readChips(lastUserMessage(page))).toEqual(expected);
    expect(await page.getByTestId('sentiment-badge').count()).toBe(0);
  });
});
