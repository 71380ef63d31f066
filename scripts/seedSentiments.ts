// Fills a database (a SQLite file or a PostgreSQL URL) with synthetic sentiment results spread over the last year,
// for the analytics benchmark.
import { parseArgs } from 'node:util';
import { SqliteRepository, type Repository } from '../src/db/index.js';
import { PostgresRepository } from '../src/db/postgres/index.js';
import { newId } from '../src/db/ids.js';

const DEFAULT_COUNT = 1_000_000;
const ROWS_PER_TRANSACTION = 50_000;
const POSTGRES_ROWS_PER_STATEMENT = 10_000;
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
    // Seeds a classify task's results (labels question/request/complaint) instead of sentiments.
    task: { type: 'string' },
  },
});
const count = Number(values.count);
if (values.db === undefined || !Number.isInteger(count) || count <= 0) {
  console.error(
    'usage: npm run seed-sentiments -- --db PATH|postgres://URL [--count N] [--owner FINGERPRINT] [--task NAME]',
  );
  process.exit(2);
}
const owner = values.owner ?? null;
// Sentiments are the results of the task `sentiment`, stored like every other task's.
const task = values.task ?? 'sentiment';
const LABELS = values.task === undefined ? ['positive', 'negative', 'neutral'] : ['question', 'request', 'complaint'];

// mulberry32: small, fast and deterministic; quality is irrelevant for synthetic load.
let state = RANDOM_SEED;
function random(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

function pickLabel(): string {
  const roll = random();
  return LABELS[roll < 0.45 ? 0 : roll < 0.75 ? 1 : 2]!;
}

const now = Date.now();
// Ascending times give ascending ULIDs, so every index grows at its end instead of splitting pages.
const times = Float64Array.from({ length: count }, () => now - YEAR_MS + Math.floor(random() * YEAR_MS)).sort();

interface SeedRow {
  id: string;
  source: 'chat' | 'query';
  owner: string | null;
  text: string | null;
  label: string;
  confidence: number;
  /** Every label's probability, as JSON. */
  scores: string;
  latencyMs: number;
  createdAt: number;
}

function rowsOf(start: number, end: number): SeedRow[] {
  const rows: SeedRow[] = [];
  for (let i = start; i < end; i += 1) {
    const at = times[i] ?? now;
    const label = pickLabel();
    const confidence = 0.5 + random() * 0.5;
    const rest = (1 - confidence) / 2;
    const isChat = random() < CHAT_SHARE;
    const scores = JSON.stringify(Object.fromEntries(LABELS.map((name) => [name, name === label ? confidence : rest])));
    rows.push({
      id: newId(at),
      // Chat results without a conversation look like those whose conversation was deleted: a real state.
      source: isChat ? 'chat' : 'query',
      owner,
      text: isChat ? null : (QUERY_TEXTS[i % QUERY_TEXTS.length] ?? null),
      label,
      confidence,
      scores,
      latencyMs: 5 + random() * 20,
      createdAt: at,
    });
  }
  return rows;
}

type Writer = (rows: SeedRow[]) => Promise<void>;

// Raw statements: the service's storage functions cost several times as much per row, and seeding is not the service.
function sqliteWriter(repository: SqliteRepository): Writer {
  const { sqlite } = repository.database;
  const insert = sqlite.prepare(
    `INSERT INTO task_results (id, task, kind, source, owner, text, locale, label, confidence, scores, latency_ms, created_at)
     VALUES (@id, @task, 'classify', @source, @owner, @text, 'en', @label, @confidence, @scores, @latencyMs, @createdAt)`,
  );
  const insertAll = sqlite.transaction((rows: SeedRow[]) => {
    for (const row of rows) insert.run({ ...row, task });
  });
  return async (rows) => insertAll(rows);
}

// One statement per chunk: each column travels as one array parameter and unnest turns them back into rows.
function postgresWriter(repository: PostgresRepository): Writer {
  const { pool } = repository.database;
  const column = <K extends keyof SeedRow>(rows: SeedRow[], key: K) => rows.map((row) => row[key]);
  return async (rows) => {
    await pool.query(
      `INSERT INTO task_results (id, task, kind, source, owner, text, locale, label, confidence, scores, latency_ms, created_at)
       SELECT id, $1, 'classify', source, owner, text, 'en', label, confidence, scores, latency, to_timestamp(at / 1000.0)
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::float8[],
         $10::float8[]) AS t(id, source, owner, text, label, confidence, scores, latency, at)`,
      [
        task,
        column(rows, 'id'),
        column(rows, 'source'),
        column(rows, 'owner'),
        column(rows, 'text'),
        column(rows, 'label'),
        column(rows, 'confidence'),
        column(rows, 'scores'),
        column(rows, 'latencyMs'),
        column(rows, 'createdAt'),
      ],
    );
  };
}

const target = values.db;
const isPostgres = /^postgres(ql)?:\/\//.test(target);
let repository: Repository;
let write: Writer;
if (isPostgres) {
  const postgres = await PostgresRepository.open({ url: target });
  [repository, write] = [postgres, postgresWriter(postgres)];
} else {
  const sqlite = SqliteRepository.open({ path: target });
  [repository, write] = [sqlite, sqliteWriter(sqlite)];
}
const chunkSize = isPostgres ? POSTGRES_ROWS_PER_STATEMENT : ROWS_PER_TRANSACTION;

try {
  const insertStarted = performance.now();
  for (let start = 0; start < count; start += chunkSize) await write(rowsOf(start, Math.min(start + chunkSize, count)));
  const insertMs = performance.now() - insertStarted;
  const rebuildStarted = performance.now();
  await repository.rebuildHourlyCounts();
  if (repository instanceof PostgresRepository) await repository.database.pool.query('ANALYZE');
  const rebuildMs = performance.now() - rebuildStarted;
  const rowsPerSecond = Math.round(count / (insertMs / 1000));
  console.log(
    `inserted ${count} ${values.task === undefined ? 'sentiments' : `${task} results`} in ${(insertMs / 1000).toFixed(1)} s (${rowsPerSecond} rows/s)`,
  );
  console.log(`rebuilt the hourly and daily roll-ups in ${rebuildMs.toFixed(0)} ms`);

  const timings: number[] = [];
  let total = 0;
  for (let run = 0; run < STATS_RUNS; run += 1) {
    const started = performance.now();
    const range = { from: new Date(now - YEAR_MS), to: new Date(now + 1) };
    // sentimentStats is this query of task `sentiment`, reshaped by the service.
    const stats = await repository.taskStats({ task, owner, bucket: 'day', ...range });
    total = stats.total;
    timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);
  const median = timings[Math.floor(timings.length / 2)] ?? Number.NaN;
  console.log(
    `${values.task === undefined ? 'sentimentStats' : 'taskStats'}, last year by day over ${total} rows: median ${median.toFixed(1)} ms of ${STATS_RUNS}`,
  );
} finally {
  await repository.close();
}
