// The sentiment view in Chromium: the stacked SVG chart and totals say what `sentimentStats` (sentiment) or `taskStats`
// (another classify task) says.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.js';
import { launchChromium, openPage, type OpenedPage } from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-sentiment-page-');
const STATS = `query ($filter: SentimentStatsFilter, $bucket: TimeBucket) { sentimentStats(filter: $filter, bucket: $bucket) {
  total positive negative neutral averageConfidence series { start total positive negative neutral } } }`;
const TASK_STATS = `query ($task: String!, $filter: SentimentStatsFilter, $bucket: TimeBucket) {
  taskStats(task: $task, filter: $filter, bucket: $bucket) {
    total averageConfidence labels { label count } series { start total labels { label count } } } }`;
const LABELS = ['positive', 'neutral', 'negative'] as const;

interface DrawnBar {
  start: number;
  total: number;
  /** Per label that has a segment. */
  counts: Record<string, number>;
  heights: Record<string, number>;
  /** The `chart__segment--` class each label was drawn with. */
  colours: Record<string, string>;
}
interface DrawnChart {
  task: string;
  from: string;
  bucket: string;
  scope: string;
  title: string;
  labelledBy: string[];
  bars: DrawnBar[];
  legend: { label: string; colour: string; text: string }[];
}

let engine: Engine;
let service: SqliteTestService;
let browser: Browser;
let baseUrl: string;
const opened: OpenedPage[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
  // Intent runs in the chat too, so its statistics have conversations to be scoped to.
  service = createTestService(path.join(scratch.dir, 'sentiment-page.db'), engine, { CHAT_TASKS: 'sentiment,intent' });
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
  const body = await service.graphql(`mutation ($input: ChatInput!) { chat(input: $input) { conversation { id } } }`, {
    input: { message, maxTokens: 4, temperature: 0, locale: 'EN', ...(conversationId ? { conversationId } : {}) },
  });
  return body.data!.chat.conversation.id;
}

/** Reads the chart back out of the page: what each bar and segment says, how tall and in which colour it was drawn. */
function readChart(page: Page): Promise<DrawnChart> {
  return page.$eval('#chart svg', (svg) => ({
    task: svg.getAttribute('data-task')!,
    from: svg.getAttribute('data-from')!,
    bucket: svg.getAttribute('data-bucket')!,
    scope: svg.getAttribute('data-scope')!,
    title: svg.querySelector(':scope > title')?.textContent ?? '',
    labelledBy: (svg.getAttribute('aria-labelledby') ?? '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent ?? ''),
    bars: [...svg.querySelectorAll('g.chart__bar')].map((bar) => {
      const counts: Record<string, number> = {};
      const heights: Record<string, number> = {};
      const colours: Record<string, string> = {};
      for (const rect of bar.querySelectorAll<SVGRectElement>('rect[data-label]')) {
        counts[rect.dataset.label!] = Number(rect.dataset.count);
        heights[rect.dataset.label!] = Number(rect.getAttribute('height'));
        colours[rect.dataset.label!] = [...rect.classList]
          .find((name) => name.startsWith('chart__segment--'))!
          .slice('chart__segment--'.length);
      }
      return {
        start: Date.parse(bar.getAttribute('data-start')!),
        total: Number(bar.getAttribute('data-total')),
        counts,
        heights,
        colours,
      };
    }),
    legend: [...document.querySelectorAll<HTMLElement>('#chart-legend .legend-item')].map((item) => ({
      label: item.dataset.label!,
      colour: [...item.querySelector('.swatch')!.classList]
        .find((name) => name.startsWith('swatch--'))!
        .slice('swatch--'.length),
      text: item.textContent ?? '',
    })),
  }));
}

/** One bar per slot of the period; the non-empty ones are exactly `series`, and all are drawn to one scale. */
function expectBars(
  chart: DrawnChart,
  slots: number,
  series: { start: number; total: number; counts: Record<string, number> }[],
): void {
  expect(chart.bars).toHaveLength(slots);
  const drawn = chart.bars.filter((bar) => bar.total > 0).map(({ start, total, counts }) => ({ start, total, counts }));
  expect(drawn).toEqual(series);
  const pixelsPerResult = chart.bars.flatMap((bar) =>
    Object.keys(bar.counts).map((label) => bar.heights[label]! / bar.counts[label]!),
  );
  for (const ratio of pixelsPerResult) expect(ratio).toBeCloseTo(pixelsPerResult[0]!, 6);
}

const withoutZeros = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0));

async function expectChartToMatch(page: Page, filter: Record<string, unknown>, slots: number): Promise<void> {
  const chart = await readChart(page);
  expect(chart.task).toBe('sentiment');
  const { data } = await service.graphql(STATS, { filter: { ...filter, from: chart.from }, bucket: chart.bucket });
  const stats = data!.sentimentStats;
  expect(stats.total).toBeGreaterThan(0);

  type Point = { start: string; total: number } & Record<(typeof LABELS)[number], number>;
  expectBars(
    chart,
    slots,
    stats.series.map((point: Point) => ({
      start: Date.parse(point.start),
      total: point.total,
      counts: withoutZeros(Object.fromEntries(LABELS.map((label) => [label, point[label]]))),
    })),
  );
  // Sentiment keeps its own colours.
  for (const bar of chart.bars) for (const [label, colour] of Object.entries(bar.colours)) expect(colour).toBe(label);
  expect(chart.legend.map(({ label, colour }) => [label, colour])).toEqual(LABELS.map((label) => [label, label]));

  for (const name of ['total', ...LABELS, 'averageConfidence'] as const) {
    expect(Number(await page.getAttribute(`[data-stat="${name}"]`, 'data-value'))).toBe(stats[name]);
  }
  expect(chart.labelledBy[0]).toBe(chart.title);
  expect(chart.labelledBy[1]).toContain(`${stats.total} results`);
}

/** The chart and totals of another classify task say what `taskStats` says, every label the task has in its own colour. */
async function expectTaskChartToMatch(
  page: Page,
  task: string,
  labels: string[],
  filter: Record<string, unknown>,
  slots: number,
): Promise<void> {
  const chart = await readChart(page);
  expect(chart.task).toBe(task);
  const { data } = await service.graphql(TASK_STATS, {
    task,
    filter: { ...filter, from: chart.from },
    bucket: chart.bucket,
  });
  const stats = data!.taskStats;
  expect(stats.total).toBeGreaterThan(0);

  type Bucket = { start: string; total: number; labels: { label: string; count: number }[] };
  const countsOf = (entries: Bucket['labels']) => Object.fromEntries(entries.map(({ label, count }) => [label, count]));
  expectBars(
    chart,
    slots,
    stats.series.map((point: Bucket) => ({
      start: Date.parse(point.start),
      total: point.total,
      counts: countsOf(point.labels),
    })),
  );

  // Totals per label: every label of the task, 0 when it did not occur.
  const totals = countsOf(stats.labels);
  const cards = await page.$$eval('[data-stat="label"]', (elements) =>
    elements.map((element) => [(element as HTMLElement).dataset.label!, Number((element as HTMLElement).dataset.value)]),
  );
  expect(cards).toEqual(labels.map((label) => [label, totals[label] ?? 0]));
  expect(Number(await page.getAttribute('[data-stat="total"]', 'data-value'))).toBe(stats.total);
  expect(Number(await page.getAttribute('[data-stat="averageConfidence"]', 'data-value'))).toBe(stats.averageConfidence);

  // One colour per label, the same in every bar and in the legend, no two labels alike.
  expect(chart.legend.map(({ label }) => label)).toEqual(labels);
  const colourOf = new Map(chart.legend.map(({ label, colour }) => [label, colour]));
  expect(new Set(colourOf.values()).size).toBe(labels.length);
  for (const bar of chart.bars)
    for (const [label, colour] of Object.entries(bar.colours)) expect(colour).toBe(colourOf.get(label));
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
    expect(await page.inputValue('#stats-task')).toBe('sentiment');
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
    expect(await page.textContent('#stats-task option[value="intent"]')).toBe('意图');
    await page.selectOption('#stats-task', 'intent');
    await page.waitForSelector('#chart svg[data-task="intent"]');
    expect((await readChart(page)).title).toBe('意图：每天结果，最近 30 天（UTC）');
    expect(await page.textContent('[data-stat="label"][data-label="complaint"] .stat__label')).toBe('投诉');
    await page.click('#locale-toggle');
    await page.waitForFunction(() =>
      document.querySelector('#chart svg > title')?.textContent?.startsWith('intent: results'),
    );
    expect(await page.textContent('[data-stat="label"][data-label="complaint"] .stat__label')).toBe('complaint');
    expect(await page.textContent('#stats-task option[value="intent"]')).toBe('intent');
    await page.selectOption('#stats-task', 'sentiment');
    await page.waitForSelector('#chart svg[data-task="sentiment"]');
    expect((await readChart(page)).title).toBe('Sentiment results per day, last 30 days (UTC)');
    expect(await page.textContent('[data-stat="positive"] .stat__label')).toBe('positive');
  });

  it("offers the classify tasks, and for intent draws each label's bars and totals as taskStats counts them", async () => {
    const first = await chat('Where is my parcel?');
    await chat('thanks, that helped', first);
    for (const text of ['please send it', 'this is awful', 'hi!', '为什么这么慢？']) {
      expect(
        (await service.graphql(`{ classify(task: "intent", text: ${JSON.stringify(text)}) { id } }`)).errors,
      ).toBeUndefined();
    }
    const { data } = await service.graphql('{ tasks { name kind labels { name } } }');
    const classifiers = (data!.tasks as { name: string; kind: string; labels: { name: string }[] }[]).filter(
      (task) => task.kind === 'CLASSIFY',
    );
    const intentLabels = classifiers.find((task) => task.name === 'intent')!.labels.map((label) => label.name);

    const { page } = await open();
    await page.waitForSelector('#chart svg[data-task="sentiment"]');
    // Classify tasks only (keywords is an extractor), sentiment first and chosen.
    const options = await page.$$eval('#stats-task option', (elements) =>
      elements.map((element) => (element as HTMLOptionElement).value),
    );
    expect(options).toEqual(['sentiment', 'intent']);
    expect(new Set(options)).toEqual(new Set(classifiers.map((task) => task.name)));
    expect(await page.inputValue('#stats-task')).toBe('sentiment');

    await page.selectOption('#stats-task', 'intent');
    await page.waitForSelector('#chart svg[data-task="intent"][data-bucket="DAY"][data-scope="all"]');
    expect((await readChart(page)).title).toBe('intent: results per day, last 30 days (UTC)');
    await expectTaskChartToMatch(page, 'intent', intentLabels, {}, 30);
    expect((await readChart(page)).legend.map(({ text }) => text)).toEqual(intentLabels);

    await page.selectOption('#stats-period', 'hour');
    await page.waitForSelector('#chart svg[data-task="intent"][data-bucket="HOUR"]');
    await expectTaskChartToMatch(page, 'intent', intentLabels, {}, 48);

    await page.selectOption('#stats-scope', 'chat');
    await page.waitForSelector('#chart svg[data-task="intent"][data-scope="chat"]');
    await expectTaskChartToMatch(page, 'intent', intentLabels, { source: 'CHAT' }, 48);

    await page.selectOption('#stats-scope', `conversation:${first}`);
    await page.waitForSelector(`#chart svg[data-task="intent"][data-scope="conversation:${first}"]`);
    await expectTaskChartToMatch(page, 'intent', intentLabels, { conversationId: first }, 48);
    expect(await page.getAttribute('[data-stat="total"]', 'data-value')).toBe('2');

    // Back to sentiment: its own chart, for the same period and conversation.
    await page.selectOption('#stats-task', 'sentiment');
    await page.waitForSelector(`#chart svg[data-task="sentiment"][data-scope="conversation:${first}"]`);
    await expectChartToMatch(page, { conversationId: first }, 48);
  });
});
