// The sentiment view in Debian's Chromium: the stacked SVG chart and totals say what `sentimentStats` says.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.js';
import { launchChromium, openPage, type OpenedPage } from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type TestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-sentiment-page-');
const STATS = `query ($filter: SentimentStatsFilter, $bucket: TimeBucket) { sentimentStats(filter: $filter, bucket: $bucket) {
  total positive negative neutral averageConfidence series { start total positive negative neutral } } }`;
const LABELS = ['positive', 'neutral', 'negative'] as const;

type Counts = { start: number; total: number; positive: number; neutral: number; negative: number };
interface DrawnChart {
  from: string;
  bucket: string;
  scope: string;
  title: string;
  labelledBy: string[];
  bars: (Counts & { heights: Record<string, number> })[];
}

let engine: Engine;
let service: TestService;
let browser: Browser;
let baseUrl: string;
const opened: OpenedPage[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'sentiment-page.db'), engine);
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

async function open(options: Parameters<typeof openPage>[2] = {}): Promise<OpenedPage> {
  const page = await openPage(browser, `${baseUrl}/#/stats`, options);
  opened.push(page);
  return page;
}

async function chat(message: string, conversationId?: string): Promise<string> {
  const body = await service.graphql(
    `mutation ($input: ChatInput!) { chat(input: $input) { conversation { id } } }`,
    { input: { message, maxTokens: 4, temperature: 0, locale: 'EN', ...(conversationId ? { conversationId } : {}) } },
  );
  return body.data!.chat.conversation.id;
}

/** Reads the chart back out of the page: what each bar and segment says, and how tall it was drawn. */
function readChart(page: Page): Promise<DrawnChart> {
  return page.$eval('#chart svg', (svg) => ({
    from: svg.getAttribute('data-from')!,
    bucket: svg.getAttribute('data-bucket')!,
    scope: svg.getAttribute('data-scope')!,
    title: svg.querySelector(':scope > title')?.textContent ?? '',
    labelledBy: (svg.getAttribute('aria-labelledby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent ?? ''),
    bars: [...svg.querySelectorAll('g.chart__bar')].map((bar) => {
      const counts: Record<string, number> = { positive: 0, neutral: 0, negative: 0 };
      const heights: Record<string, number> = {};
      for (const rect of bar.querySelectorAll<SVGRectElement>('rect[data-label]')) {
        counts[rect.dataset.label!] = Number(rect.dataset.count);
        heights[rect.dataset.label!] = Number(rect.getAttribute('height'));
      }
      return {
        start: Date.parse(bar.getAttribute('data-start')!),
        total: Number(bar.getAttribute('data-total')),
        positive: counts.positive!,
        neutral: counts.neutral!,
        negative: counts.negative!,
        heights,
      };
    }),
  }));
}

async function expectChartToMatch(page: Page, filter: Record<string, unknown>, slots: number): Promise<void> {
  const chart = await readChart(page);
  const { data } = await service.graphql(STATS, { filter: { ...filter, from: chart.from }, bucket: chart.bucket });
  const stats = data!.sentimentStats;
  expect(stats.total).toBeGreaterThan(0);

  // One bar per slot of the period; the non-empty ones are exactly the server's series.
  expect(chart.bars).toHaveLength(slots);
  const drawn = chart.bars.filter((bar) => bar.total > 0).map(({ heights: _heights, ...counts }) => counts);
  const expected = stats.series.map((point: Counts & { start: string }) => ({ ...point, start: Date.parse(point.start) }));
  expect(drawn).toEqual(expected);
  // Drawn to one scale: every segment's height is its count times the same factor.
  const pixelsPerResult = chart.bars.flatMap((bar) => LABELS.filter((label) => bar[label] > 0).map((label) => bar.heights[label]! / bar[label]));
  for (const ratio of pixelsPerResult) expect(ratio).toBeCloseTo(pixelsPerResult[0]!, 6);

  for (const name of ['total', ...LABELS, 'averageConfidence'] as const) {
    expect(Number(await page.getAttribute(`[data-stat="${name}"]`, 'data-value'))).toBe(stats[name]);
  }
  expect(chart.labelledBy[0]).toBe(chart.title);
  expect(chart.labelledBy[1]).toContain(`${stats.total} results`);
}

describe('sentiment view', () => {
  it('draws stacked bars per day and per hour that match sentimentStats, for everything and for one conversation', async () => {
    const first = await chat('What a wonderful day');
    await chat('and it keeps getting better', first);
    await chat('This is awful');
    await service.graphql(`{ sentiments(texts: ["great", "terrible", "on Tuesday"], locale: EN) { label } }`);

    const { page } = await open();
    await page.waitForSelector('#chart svg[data-bucket="DAY"][data-scope="all"]');
    const chart = await readChart(page);
    expect(chart.title).toBe('Sentiment results per day, last 30 days (UTC)');
    expect(await page.getAttribute('#chart svg', 'role')).toBe('img');
    await expectChartToMatch(page, {}, 30);

    await page.selectOption('#stats-period', 'hour');
    await page.waitForSelector('#chart svg[data-bucket="HOUR"]');
    await expectChartToMatch(page, {}, 48);

    await page.selectOption('#stats-scope', 'chat');
    await page.waitForSelector('#chart svg[data-scope="chat"]');
    await expectChartToMatch(page, { source: 'CHAT' }, 48);

    await page.selectOption('#stats-scope', `conversation:${first}`);
    await page.waitForSelector(`#chart svg[data-scope="conversation:${first}"]`);
    await expectChartToMatch(page, { conversationId: first }, 48);
    expect(await page.getAttribute('[data-stat="total"]', 'data-value')).toBe('2');

    // Refresh picks up what happened since.
    await chat('one more for this conversation', first);
    await page.click('#stats-refresh');
    await page.waitForSelector('[data-stat="total"][data-value="3"]');
    await expectChartToMatch(page, { conversationId: first }, 48);
  });

  it('speaks Chinese in a Chinese browser, down to the chart title', async () => {
    await chat('还不错');
    const { page } = await open({ locale: 'zh-CN' });
    await page.waitForSelector('#chart svg');
    expect((await readChart(page)).title).toBe('每天情感结果，最近 30 天（UTC）');
    expect(await page.textContent('[data-stat="positive"] .stat__label')).toBe('正面');
    await page.click('#locale-toggle');
    await page.waitForFunction(() => document.querySelector('#chart svg > title')?.textContent?.startsWith('Sentiment results'));
    expect(await page.textContent('[data-stat="positive"] .stat__label')).toBe('positive');
  });
});
