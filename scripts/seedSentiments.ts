// Fills a database with synthetic sentiment results spread over the last year, for the analytics benchmark.
import { parseArgs } from 'node:util';
import { openDatabase, rebuildHourlyCounts, sentimentStats, type SentimentLabel } from '../src/db/index.js';
import { newId } from '../src/db/ids.js';

const DEFAULT_COUNT = 1_000_000;
const ROWS_PER_TRANSACTION = 50_000;
const YEAR_MS = 365 * 24 * 3_600_000;
const CHAT_SHARE = 0.2;
const STATS_RUNS = 5;
// Fixed, so two seeded databases hold the same labels and spread.
const RANDOM_SEED = 0x5eed;
const QUERY_TEXTS = ['I love this', 'This is terrible', 'It arrived on Tuesday', '还不错', '太糟糕了'];

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    count: { type: 'string', default: String(DEFAULT_COUNT) },
    owner: { type: 'string' },
  },
});
const count = Number(values.count);
if (values.db === undefined || !Number.isInteger(count) || count <= 0) {
  console.error('usage: npm run seed-sentiments -- --db PATH [--count N] [--owner FINGERPRINT]');
  process.exit(2);
}
const owner = values.owner ?? null;

// mulberry32: small, fast and deterministic; quality is irrelevant for synthetic load.
let state = RANDOM_SEED;
function random(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

function pickLabel(): SentimentLabel {
  const roll = random();
  return roll < 0.45 ? 'positive' : roll < 0.75 ? 'negative' : 'neutral';
}

const app = openDatabase({ path: values.db });
const now = Date.now();
// Ascending times give ascending ULIDs, so every index grows at its end instead of splitting pages.
const times = Float64Array.from({ length: count }, () => now - YEAR_MS + Math.floor(random() * YEAR_MS)).sort();

// A raw prepared statement: drizzle's placeholder mapping costs about half again as much per row here.
const insert = app.sqlite.prepare(
  `INSERT INTO sentiments (id, source, owner, text, locale, method, label, confidence,
     score_positive, score_negative, score_neutral, latency_ms, created_at)
   VALUES (@id, @source, @owner, @text, 'en', 'logprob', @label, @confidence,
     @scorePositive, @scoreNegative, @scoreNeutral, @latencyMs, @createdAt)`,
);

const insertRange = app.sqlite.transaction((start: number, end: number) => {
  for (let i = start; i < end; i += 1) {
    const at = times[i] ?? now;
    const label = pickLabel();
    const confidence = 0.5 + random() * 0.5;
    const rest = (1 - confidence) / 2;
    const isChat = random() < CHAT_SHARE;
    insert.run({
      id: newId(at),
      // Chat results without a conversation look like those whose conversation was deleted: a real state.
      source: isChat ? 'chat' : 'query',
      owner,
      text: isChat ? null : QUERY_TEXTS[i % QUERY_TEXTS.length],
      label,
      confidence,
      scorePositive: label === 'positive' ? confidence : rest,
      scoreNegative: label === 'negative' ? confidence : rest,
      scoreNeutral: label === 'neutral' ? confidence : rest,
      latencyMs: 5 + random() * 20,
      createdAt: at,
    });
  }
});

const insertStarted = performance.now();
for (let start = 0; start < count; start += ROWS_PER_TRANSACTION) {
  insertRange(start, Math.min(start + ROWS_PER_TRANSACTION, count));
}
const insertMs = performance.now() - insertStarted;
const rebuildStarted = performance.now();
rebuildHourlyCounts(app);
const rebuildMs = performance.now() - rebuildStarted;
const rowsPerSecond = Math.round(count / (insertMs / 1000));
console.log(`inserted ${count} sentiments in ${(insertMs / 1000).toFixed(1)} s (${rowsPerSecond} rows/s)`);
console.log(`rebuilt the hourly roll-up in ${rebuildMs.toFixed(0)} ms`);

const timings: number[] = [];
let total = 0;
for (let run = 0; run < STATS_RUNS; run += 1) {
  const started = performance.now();
  total = sentimentStats(app, { owner, bucket: 'day', from: new Date(now - YEAR_MS), to: new Date(now + 1) }).total;
  timings.push(performance.now() - started);
}
timings.sort((a, b) => a - b);
const median = timings[Math.floor(timings.length / 2)] ?? Number.NaN;
console.log(`sentimentStats, last year by day over ${total} rows: median ${median.toFixed(1)} ms of ${STATS_RUNS}`);
app.close();
