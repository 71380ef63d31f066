// Takes the README's screenshots: the service on the tiny synthetic model, driven in Debian's Chromium.
// Writes docs/screenshots/chat.png (a streamed turn and a stopped one, with task chips), docs/screenshots/chart.png and
// docs/screenshots/jobs.png (a CSV file analysed in the Files view, its intents counted per product).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { createService } from '../src/createService.js';
import { SqliteRepository, type QueryAnalysisInput } from '../src/db/index.js';
import { Engine } from '../src/engine/index.js';
import { ensureSyntheticModel } from '../src/engine/synth/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const VIEWPORT = { width: 1200, height: 720 };
const HISTORY_DAYS = 14;
const DAY_MS = 86_400_000;

if (!existsSync(CHROMIUM_PATH)) {
  console.error(`No Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  process.exit(1);
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'aio-screenshots-'));
const modelPath = await ensureSyntheticModel({ shape: 'tiny', modelsDir: path.join(ROOT, '.tmp', 'test-models') });
const engine = await Engine.load({ model: modelPath, modelsDir: path.dirname(modelPath), threads: 1, contextSize: 4096 });
const config = loadConfig({
  LOG_LEVEL: 'silent',
  DATABASE_PATH: path.join(scratch, 'screenshots.db'),
  // The chat's tasks as the README suggests trying them, so the messages show their chips.
  CHAT_TASKS: 'sentiment,intent,keywords',
});
const database = SqliteRepository.open(config.database.sqlite);
const { app, jobRunner } = createService(config, { repository: database, engine });
jobRunner?.start();
const { port } = await app.start(0, '127.0.0.1');
const baseUrl = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});

try {
  mkdirSync(OUT_DIR, { recursive: true });
  await seedHistory();
  for (const message of ['周末去爬山了，风景很美', 'The train was late again']) {
    await app.yoga.fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($m: String!) { chat(input: { message: $m, maxTokens: 8 }) { reply { id } } }',
        variables: { m: message },
      }),
    });
  }

  const chat = await newPage('zh-CN');
  await chat.goto(baseUrl);
  await chat.waitForSelector('body[data-ready="true"]');
  await setMaxTokens(chat, 40);
  await send(chat, '今天的实验终于成功了，太棒了！');
  await chat.waitForSelector('[data-role="reply"][data-state="complete"]');
  await setMaxTokens(chat, 2000);
  await send(chat, '不过明天还要早起，有点累');
  await chat.waitForFunction(
    () => Number(document.querySelectorAll<HTMLElement>('[data-role="reply"]')[1]?.dataset.tokens) >= 24,
  );
  await chat.click('#stop');
  await chat.waitForSelector('.conversation-link[aria-current="page"]');
  await chat.locator('#message-input').blur();
  await chat.screenshot({ path: path.join(OUT_DIR, 'chat.png') });

  const chart = await newPage('en-US');
  await chart.goto(`${baseUrl}/#/stats`);
  await chart.waitForSelector('#chart svg .chart__segment');
  await chart.screenshot({ path: path.join(OUT_DIR, 'chart.png') });

  const jobs = await newPage('en-US');
  await jobs.goto(`${baseUrl}/#/jobs`);
  await jobs.setInputFiles('#job-file', { name: 'reviews.csv', mimeType: 'text/csv', buffer: sampleReviews() });
  await jobs.waitForSelector('#job-options:not([disabled])');
  await jobs.check('#job-tag-columns input[value="product"]');
  await jobs.check('#job-tasks input[value="intent"]');
  await jobs.click('#job-run');
  await jobs.waitForSelector('#job-chart svg .chart__segment');
  await jobs.selectOption('#job-chart-task', 'intent');
  await jobs.waitForSelector('#job-chart svg[data-task="intent"] .chart__segment');
  await jobs.locator('#job-chart-card').scrollIntoViewIfNeeded();
  await jobs.screenshot({ path: path.join(OUT_DIR, 'jobs.png') });
  console.log(`wrote chat.png, chart.png and jobs.png in ${path.relative(ROOT, OUT_DIR)}`);
} finally {
  await browser.close();
  await jobRunner?.stop();
  await app.stop();
  await database.close();
  await engine.dispose();
  rmSync(scratch, { recursive: true, force: true });
}

async function newPage(locale: string): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: VIEWPORT, deviceScaleFactor: 1 });
  return context.newPage();
}

async function setMaxTokens(page: Page, tokens: number): Promise<void> {
  await page.click('#settings-open');
  await page.fill('#max-tokens', String(tokens));
  await page.click('#settings-save');
}

async function send(page: Page, message: string): Promise<void> {
  await page.fill('#message-input', message);
  await page.press('#message-input', 'Enter');
}

/** A small review file: an id, the text and the product it is about. */
function sampleReviews(): Buffer {
  const products = ['phone', 'laptop', 'headphones', 'charger'];
  const openings = ['Love the', 'Returned the', 'Still waiting for my', 'How do I reset the', 'Thanks for the quick'];
  const lines = ['id,review,product'];
  for (let index = 0; index < 80; index += 1) {
    const product = products[index % products.length]!;
    lines.push(`r${index + 1},"${openings[index % openings.length]!} ${product}, order ${1000 + index}",${product}`);
  }
  return Buffer.from(lines.join('\n'));
}

/** Two weeks of sample results (the sentiment API's own records), so the chart has a history to show. */
async function seedHistory(): Promise<void> {
  let state = 0x5eed;
  const random = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
  const records: QueryAnalysisInput[] = [];
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  for (let day = HISTORY_DAYS; day >= 1; day -= 1) {
    const count = 6 + Math.floor(random() * 18);
    for (let index = 0; index < count; index += 1) {
      const roll = random();
      const label = roll < 0.5 ? 'positive' : roll < 0.78 ? 'negative' : 'neutral';
      const confidence = 0.55 + random() * 0.4;
      const rest = (1 - confidence) / 2;
      records.push({
        owner: null,
        text: 'sample',
        taskResults: [
          {
            task: 'sentiment',
            kind: 'classify',
            locale: 'en',
            label,
            confidence,
            scores: {
              positive: label === 'positive' ? confidence : rest,
              negative: label === 'negative' ? confidence : rest,
              neutral: label === 'neutral' ? confidence : rest,
            },
            latencyMs: 8,
          },
        ],
        createdAt: new Date(today - day * DAY_MS + Math.floor(random() * DAY_MS)),
      });
    }
  }
  await database.insertQueryAnalyses(records);
}
