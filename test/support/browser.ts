// Chromium driven by playwright-core for the web page tests: which browser, launch flags, pages that record their errors.
import { existsSync } from 'node:fs';
import bundledChromium from '@sparticuz/chromium';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

/**
 * Which browser: `CHROMIUM_PATH` unset takes Debian's package when it is installed, else the bundled one;
 * `CHROMIUM_PATH=bundled` always takes the bundled one (CI checks that path on machines that have both); any
 * other value is the path of a system Chromium.
 */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH;
const DEBIAN_CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless (playwright adds --headless), no sandbox (containers), and nothing that reaches beyond loopback. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The system's Chromium, or the one that @sparticuz/chromium carries compressed inside its npm package (unpacked
 * into the temp folder on first use, about 2 s), so `npm test` needs no system browser and downloads nothing.
 * That build may lack CJK fonts: no test depends on how a glyph renders.
 */
export async function chromiumExecutable(): Promise<string> {
  if (CHROMIUM_PATH === 'bundled') return bundledChromium.executablePath();
  if (CHROMIUM_PATH !== undefined) {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${CHROMIUM_PATH} does not exist.`);
    return CHROMIUM_PATH;
  }
  return existsSync(DEBIAN_CHROMIUM_PATH) ? DEBIAN_CHROMIUM_PATH : bundledChromium.executablePath();
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumExecutable(), headless: true, args: CHROMIUM_ARGS });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors the page produced; a test ends by expecting none. */
  errors: string[];
}

/**
 * A fresh profile (context) with one page at `url`, once the page's script has started and its first requests
 * (model status, conversation list) are answered. `prepare` runs on the context before the page loads.
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: BrowserContextOptions = {},
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<OpenedPage> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 800 }, ...options });
  await prepare?.(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  await pageSettled(page);
  return { context, page, errors };
}

/** The page has started and shown the answers to its first requests. */
export async function pageSettled(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#model-status[data-state]', { state: 'attached' });
  await page.waitForSelector('#conversation-list > li', { state: 'attached' });
}

/** Waits until the newest reply on the page is in `state` (waiting, streaming, complete, stopped, failed). */
export async function waitForLastReply(page: Page, state: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll<HTMLElement>('[data-role="reply"]')].at(-1)?.dataset.state === wanted,
    state,
  );
}

/** One visible state of the latest turn: its badge's label, how many task chips it shows, its reply's deltas and state. */
export interface TurnTimelineEntry {
  badge: string | null;
  chips: number;
  tokens: number;
  state: string | null;
}

/**
 * Records, in page order, every visible change to the latest turn (see TurnTimelineEntry). Installed before the
 * page's own script runs; `turnTimeline(page)` reads it back.
 */
export async function recordTurnTimeline(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const timeline: TurnTimelineEntry[] = [];
    (window as unknown as { turnTimeline: TurnTimelineEntry[] }).turnTimeline = timeline;
    new MutationObserver(() => {
      const user = [...document.querySelectorAll<HTMLElement>('[data-role="user-message"]')].at(-1);
      const reply = [...document.querySelectorAll<HTMLElement>('[data-role="reply"]')].at(-1);
      const badge = user?.querySelector<HTMLElement>('[data-testid="sentiment-badge"]');
      const entry = {
        badge: badge?.dataset.label ?? null,
        chips: user?.querySelectorAll('[data-testid="task-chip"]').length ?? 0,
        tokens: Number(reply?.dataset.tokens ?? 0),
        state: reply?.dataset.state ?? null,
      };
      const last = timeline.at(-1);
      if (!last || (Object.keys(entry) as (keyof TurnTimelineEntry)[]).some((key) => last[key] !== entry[key]))
        timeline.push(entry);
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

export function turnTimeline(page: Page): Promise<TurnTimelineEntry[]> {
  return page.evaluate(() => (window as unknown as { turnTimeline: TurnTimelineEntry[] }).turnTimeline);
}

export interface SocketRecord {
  url: string;
  /** Parsed graphql-ws messages the page sent (connection_init, subscribe, complete…). */
  sent: { type: string; payload?: any }[];
}

/** Every WebSocket the page opens, with the messages it sends: how the test sees what went over the wire. */
export function recordSockets(page: Page): SocketRecord[] {
  const sockets: SocketRecord[] = [];
  page.on('websocket', (socket) => {
    const record: SocketRecord = { url: socket.url(), sent: [] };
    sockets.push(record);
    socket.on('framesent', (frame) => record.sent.push(JSON.parse(String(frame.payload))));
  });
  return sockets;
}
