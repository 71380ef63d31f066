// The Files view in Chromium: a CSV file picked, parsed in the browser, its columns and tasks chosen, uploaded, followed
// to the end, charted per tag value as `taskStats` counts it, and its results downloaded as the service stores them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/index.js';
import { launchChromium, openPage, type OpenedPage } from '../support/browser.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from '../support/testApp.js';

const scratch = createScratchDir('aio-jobs-page-');
const API_KEY = 'page-key-0123456789abcdef';
const GROUPS = `query ($task: String!, $filter: SentimentStatsFilter, $groupBy: StatsGroupBy) {
  taskStats(task: $task, filter: $filter, groupBy: $groupBy) { total groups { value total labels { label count } } } }`;

/** Nine good rows over three products (one row without a product), a short row, and a field that is not UTF-8. */
function reviewsCsv(): Buffer {
  const products = ['tv', 'phone', 'tv', 'radio', 'phone', 'tv', '', 'phone', 'tv'];
  const rows = products.map((product, index) => `r${index + 1},"Review ${index + 1}, about the ${product || 'shop'}",${product}\n`);
  return Buffer.concat([
    Buffer.from(`id,review,product\n${rows.join('')}r10,short\n`),
    Buffer.from('r11,"caf'),
    Buffer.from([0xe9]),
    Buffer.from('",tv\n'),
  ]);
}

let engine: Engine;
let service: SqliteTestService;
let browser: Browser;
let baseUrl: string;
const opened: OpenedPage[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'jobs-page.db'), engine);
  service.jobRunner!.start();
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
  await service?.jobRunner?.stop();
  await service?.app.stop();
  service?.database.close();
  await engine?.dispose();
  scratch.remove();
});

describe('files view', () => {
  it('uploads a CSV file, follows the job, charts label counts per tag value and downloads the stored results', async () => {
    const opening = await openPage(browser, `${baseUrl}/#/jobs`);
    opened.push(opening);
    const { page } = opening;

    await page.setInputFiles('#job-file', { name: 'reviews.csv', mimeType: 'text/csv', buffer: reviewsCsv() });
    await page.waitForSelector('#job-options:not([disabled])');
    expect(await page.textContent('#job-file-summary')).toBe('11 rows, 3 columns');
    // The text and id columns are guessed from their names; the person picks the tag column and a second task.
    expect(await page.inputValue('#job-text-column')).toBe('review');
    expect(await page.inputValue('#job-id-column')).toBe('id');
    await page.check('#job-tag-columns input[value="product"]');
    await page.check('#job-tasks input[value="intent"]');
    expect(await page.isChecked('#job-tasks input[value="sentiment"]')).toBe(true);
    await page.click('#job-run');

    await page.waitForSelector('#job-status[data-state="DONE"]');
    const jobId = (await page.getAttribute('#job-status', 'data-job-id'))!;
    expect(await page.getAttribute('#job-progress', 'value')).toBe('11');
    expect(await page.textContent('#job-counts')).toMatch(/^11 of 11 done \(100%\) · 2 failed · /);

    // What is stored: every row once, in order, the two bad rows failed under their ids.
    const { data } = await service.graphql(
      `query ($id: ID!) { analysisJob(id: $id) { name tasks total failed items(first: 100) { edges { node {
        externalId status error { code } tags { key value } } } } } }`,
      { id: jobId },
    );
    const job = data!.analysisJob;
    expect(job).toMatchObject({ name: 'reviews.csv', tasks: ['sentiment', 'intent'], total: 11, failed: 2 });
    const items = job.items.edges.map((edge: { node: unknown }) => edge.node);
    expect(items.map((item: { externalId: string }) => item.externalId)).toEqual(
      Array.from({ length: 11 }, (_, index) => `r${index + 1}`),
    );
    expect(items.slice(9)).toMatchObject([
      { status: 'FAILED', error: { code: 'BAD_USER_INPUT' } },
      { status: 'FAILED', error: { code: 'BAD_USER_INPUT' }, tags: [{ key: 'product', value: 'tv' }] },
    ]);
    expect(items[6].tags).toEqual([]);

    // The chart: a bar per product value (and one for rows without), segments as taskStats counts them.
    await page.waitForSelector('#job-chart svg[data-task="sentiment"][data-tag="product"] g.chart__bar');
    const bars = await page.$$eval('#job-chart svg g.chart__bar', (elements) =>
      elements.map((bar) => ({
        value: bar.getAttribute('data-start'),
        total: Number(bar.getAttribute('data-total')),
        counts: Object.fromEntries(
          [...bar.querySelectorAll<SVGRectElement>('rect[data-label]')].map((rect) => [rect.dataset.label, Number(rect.dataset.count)]),
        ),
      })),
    );
    const stats = (await service.graphql(GROUPS, { task: 'sentiment', filter: { jobId }, groupBy: { tag: 'product' } })).data!
      .taskStats;
    expect(stats.total).toBe(9);
    type Group = { value: string | null; total: number; labels: { label: string; count: number }[] };
    expect(bars).toEqual(
      stats.groups.map((group: Group) => ({
        value: group.value ?? '',
        total: group.total,
        counts: Object.fromEntries(group.labels.filter(({ count }) => count > 0).map(({ label, count }) => [label, count])),
      })),
    );
    expect(new Set(bars.map((bar) => bar.value))).toEqual(new Set(['tv', 'phone', 'radio', '']));

    // Another task, by the same column; then the whole view in Chinese.
    await page.selectOption('#job-chart-task', 'intent');
    await page.waitForSelector('#job-chart svg[data-task="intent"] g.chart__bar');
    await page.click('#locale-toggle');
    expect(await page.textContent('#job-stage')).toBe('完成');
    expect(await page.textContent('#job-counts')).toMatch(/^已完成 11 \/ 11（100%）· 失败 2/);
    expect(await page.textContent('#job-chart svg > title')).toBe('意图：按 product 分组');

    // The download is the results file as the service streams it.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#job-download')]);
    expect(download.suggestedFilename()).toBe('reviews.csv.results.csv');
    const saved = readFileSync((await download.path())!, 'utf8');
    const stored = await (await fetch(`${baseUrl}/jobs/${jobId}/results.csv`)).text();
    expect(saved).toBe(stored);
    expect(saved.split('\n')[0]).toBe(
      'external_id,tag:product,status,error_code,error_message,sentiment.label,sentiment.confidence,intent.label,intent.confidence',
    );
  });

  it('with API_KEYS, runs the job and downloads its results with the key the page keeps', async () => {
    const keyed = createTestService(path.join(scratch.dir, 'keyed.db'), engine, { API_KEYS: API_KEY });
    keyed.jobRunner!.start();
    try {
      const { port } = await keyed.app.start(0, '127.0.0.1');
      const keyedUrl = `http://127.0.0.1:${port}`;
      const opening = await openPage(browser, `${keyedUrl}/#/jobs`, {}, async (context) => {
        await context.addInitScript((key) => localStorage.setItem('aio.apiKey', key), API_KEY);
      });
      opened.push(opening);
      const { page } = opening;
      await page.setInputFiles('#job-file', { name: 'keyed.csv', mimeType: 'text/csv', buffer: reviewsCsv() });
      await page.waitForSelector('#job-options:not([disabled])');
      await page.click('#job-run');
      await page.waitForSelector('#job-status[data-state="DONE"]');
      const jobId = (await page.getAttribute('#job-status', 'data-job-id'))!;

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#job-download')]);
      const saved = readFileSync((await download.path())!, 'utf8');
      const stored = await fetch(`${keyedUrl}/jobs/${jobId}/results.csv`, { headers: { authorization: `Bearer ${API_KEY}` } });
      expect(stored.status).toBe(200);
      expect(saved).toBe(await stored.text());
      // Without the key the file is not given out: the page's download really carried it.
      expect((await fetch(`${keyedUrl}/jobs/${jobId}/results.csv`)).status).toBe(401);
    } finally {
      await keyed.jobRunner?.stop();
      await keyed.app.stop();
      keyed.database.close();
    }
  });
});
