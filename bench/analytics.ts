// Benchmark 7: `sentimentStats` over 1,000,000 stored sentiments by day over a year, and how fast sentiments are stored.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { PROJECT_ROOT } from './lib/paths.js';
import { figure } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { insertQuerySentiments, openDatabase, sentimentStats, type AppDatabase, type NewQuerySentiment } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { EngineHolder } from '../src/service/EngineHolder.js';
import { Services } from '../src/service/Services.js';

const YEAR_MS = 365 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;
const STATS_QUERY = `query ($from: DateTime, $to: DateTime) {
  sentimentStats(filter: { from: $from, to: $to }, bucket: DAY) {
    total positive negative neutral averageConfidence series { start total positive negative neutral }
  }
}`;
/** The size of a `sentiments` query batch at most (MAX_BATCH_TEXTS). */
const BATCH = 32;

export const analytics: Benchmark = {
  id: 'analytics',
  title: '7. Analytics',
  async run(options) {
    const count = sized(options, 1_000_000, 2_000);
    const queryRuns = sized(options, 15, 1);
    const databasePath = path.join(options.workDir, `analytics-${count}.db`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(databasePath + suffix, { force: true });
    const seeded = await seed(databasePath, count);
    options.log(`analytics: seeded ${count} rows at ${seeded.rowsPerSecond} rows/s`);

    const database = openDatabase({ path: databasePath });
    try {
      const now = Date.now();
      const range = { from: new Date(now - YEAR_MS), to: new Date(now + 1) };
      const graphql = statsOverGraphQL(database);
      const viaGraphQL: number[] = [];
      const direct: number[] = [];
      const naive: number[] = [];
      let total = 0;
      await graphql(range);
      for (let run = 0; run < queryRuns; run += 1) {
        viaGraphQL.push((await timed(() => graphql(range))).ms);
        const measured = await timed(async () => sentimentStats(database, { owner: null, bucket: 'day', ...range }));
        direct.push(measured.ms);
        total = measured.value.total;
        naive.push((await timed(async () => naiveDailyStats(database, range))).ms);
      }
      const inserts = measureInserts(database, sized(options, 300, 2));

      return {
        settings: { 'stored sentiments': count, 'query runs': queryRuns, range: 'last 365 days', bucket: 'DAY' },
        figures: [
          figure({
            id: 'stats-graphql',
            label: `sentimentStats over ${total.toLocaleString('en-US')} sentiments, a year by day (GraphQL, in-process)`,
            unit: 'ms',
            value: summarize(viaGraphQL),
            baseline: { label: 'naive SQL: group the raw rows by day', value: summarize(naive) },
            target: { on: 'value', op: '<=', threshold: 50 },
          }),
          figure({
            id: 'stats-db',
            label: 'The same aggregation, database layer only (hourly roll-up + edge hours)',
            unit: 'ms',
            value: summarize(direct),
            baseline: { label: 'naive SQL', value: summarize(naive) },
          }),
          figure({
            id: 'insert-batch',
            label: `Storing sentiments as the service does (${BATCH} per transaction, roll-up included)`,
            unit: 'rows/s',
            value: summarize(inserts.batchedRowsPerSecond),
            baseline: { label: 'seed script: raw prepared statement, 50,000 per transaction', value: summarize([seeded.rowsPerSecond]) },
          }),
          figure({
            id: 'insert-single',
            label: 'Storing one sentiment per transaction (a `sentiment` query)',
            unit: 'rows/s',
            value: summarize(inserts.singleRowsPerSecond),
            baseline: { label: `${BATCH} per transaction`, value: summarize(inserts.batchedRowsPerSecond) },
          }),
        ],
        tables: [
          {
            title: 'Seeding',
            columns: ['Rows', 'Insert (s)', 'Rows/s', 'Roll-up rebuild (ms)'],
            rows: [[count, seeded.insertSeconds, seeded.rowsPerSecond, seeded.rebuildMs]],
          },
        ],
        notes: [
          '`npm run seed-sentiments` fills the database: rows spread uniformly over the last year, 20% from chat, ' +
            'then the hourly roll-up is rebuilt. The query runs through the real schema and resolvers with `yoga.fetch` ' +
            '(no socket), so the figure is the service\'s own time.',
          'Owner-wide statistics read whole hours from the roll-up (about 9,000 rows per source for a year) and only ' +
            'the partial hours at the range\'s edges from the sentiments table; the naive baseline scans a year of raw rows.',
          'Insert throughput uses the service\'s storage function on the same 1M-row database (WAL, one transaction per ' +
            'call, each row also counted in its hour).',
          insertVerdict(summarize(inserts.batchedRowsPerSecond).median, summarize(inserts.singleRowsPerSecond).median),
        ],
      };
    } finally {
      database.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(databasePath + suffix, { force: true });
    }
  },
};

interface Seeded {
  insertSeconds: number;
  rowsPerSecond: number;
  rebuildMs: number;
}

/** Runs the seeding script as a user would and reads its report. */
function seed(databasePath: string, count: number): Promise<Seeded> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/seedSentiments.ts', '--db', databasePath, '--count', String(count)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const inserted = output.match(/inserted \d+ sentiments in ([\d.]+) s \((\d+) rows\/s\)/);
      const rebuilt = output.match(/rebuilt the hourly roll-up in (\d+) ms/);
      if (code !== 0 || !inserted || !rebuilt) return reject(new Error(`seed-sentiments failed (code ${code}):\n${output}`));
      resolve({ insertSeconds: Number(inserted[1]), rowsPerSecond: Number(inserted[2]), rebuildMs: Number(rebuilt[1]) });
    });
  });
}

function statsOverGraphQL(database: AppDatabase) {
  const config = loadConfig({ LOG_LEVEL: 'silent', PLAYGROUND: 'false', DATABASE_PATH: database.path });
  const app = createApp({ services: new Services({ database, engine: new EngineHolder() }), config, logger: createLogger('silent') });
  return async (range: { from: Date; to: Date }): Promise<void> => {
    const response = await app.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: STATS_QUERY, variables: { from: range.from.toISOString(), to: range.to.toISOString() } }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    if (body.errors || !body.data) throw new Error(`sentimentStats failed: ${JSON.stringify(body.errors)}`);
  };
}

/** What one would write without the roll-up: every row of the range, grouped by day. */
function naiveDailyStats(database: AppDatabase, range: { from: Date; to: Date }): unknown[] {
  return database.sqlite
    .prepare(
      `select created_at - created_at % ${DAY_MS} as day, count(*) as total,
         sum(label = 'positive') as positive, sum(label = 'negative') as negative, sum(label = 'neutral') as neutral,
         avg(confidence) as average_confidence
       from sentiments where owner is null and created_at >= ? and created_at < ? group by 1 order by 1`,
    )
    .all(range.from.getTime(), range.to.getTime());
}

function measureInserts(database: AppDatabase, batches: number) {
  const record = (index: number): NewQuerySentiment => ({
    owner: null,
    text: `benchmark text ${index}`,
    locale: 'en',
    method: 'logprob',
    label: (['positive', 'negative', 'neutral'] as const)[index % 3]!,
    confidence: 0.8,
    scorePositive: 0.8,
    scoreNegative: 0.1,
    scoreNeutral: 0.1,
    latencyMs: 12,
  });
  const batchedRowsPerSecond: number[] = [];
  const singleRowsPerSecond: number[] = [];
  // Three rounds of each, alternating, so the two see the same database and the same moment of the machine.
  for (let round = 0; round < 3; round += 1) {
    let startedAt = performance.now();
    for (let batch = 0; batch < batches; batch += 1) {
      insertQuerySentiments(database, Array.from({ length: BATCH }, (_, item) => record(batch * BATCH + item)));
    }
    batchedRowsPerSecond.push((batches * BATCH * 1000) / (performance.now() - startedAt));
    startedAt = performance.now();
    for (let item = 0; item < batches * 4; item += 1) insertQuerySentiments(database, [record(item)]);
    singleRowsPerSecond.push((batches * 4 * 1000) / (performance.now() - startedAt));
  }
  return { batchedRowsPerSecond, singleRowsPerSecond };
}

function insertVerdict(batched: number, single: number): string {
  const ratio = batched / single;
  return (
    `Batching ${BATCH} rows per transaction changes the rate by ${ratio.toFixed(2)}×: the cost is per row (drizzle ` +
    'builds each INSERT and its roll-up upsert anew, with RETURNING), not per commit. Either way it is far above what ' +
    'the model can classify (a few sentiments per second), so it was left as it is.'
  );
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAt = performance.now();
  const value = await work();
  return { value, ms: performance.now() - startedAt };
}

if (isMainModule(import.meta.url)) await runStandalone(analytics);
