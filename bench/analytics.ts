// Benchmark 7: `sentimentStats` and `taskStats` over 1,000,000 stored results by day over a year, on SQLite and on
// PostgreSQL, and how fast results are stored.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { isMainModule, runStandalone, sized, type Benchmark, type BenchOptions } from './lib/benchmark.js';
import { PROJECT_ROOT } from './lib/paths.js';
import { figure, type BenchmarkResult, type Figure } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { loadConfig } from '../src/config.js';
import { createService } from '../src/createService.js';
import { SqliteRepository, type QueryAnalysisInput, type Repository } from '../src/db/index.js';
import { PostgresRepository } from '../src/db/postgres/index.js';
import { toSentimentStats } from '../src/service/sentimentStats.js';
import { createTestDatabase, findPostgresBin, startPostgres } from '../test/support/postgresServer.js';

const YEAR_MS = 365 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;
const STATS_QUERY = `query ($from: DateTime, $to: DateTime) {
  sentimentStats(filter: { from: $from, to: $to }, bucket: DAY) {
    total positive negative neutral averageConfidence series { start total positive negative neutral }
  }
}`;
/** The size of a `sentiments` query batch at most (MAX_BATCH_TEXTS). */
const BATCH = 32;
const SEEDED_TASK = 'intent';

type Partial = Omit<BenchmarkResult, 'id' | 'title' | 'durationMs'>;

export const analytics: Benchmark = {
  id: 'analytics',
  title: '7. Analytics',
  async run(options) {
    const sqlite = await measureDialect(options, 'sqlite', async (name) => {
      const file = path.join(options.workDir, `${name}.db`);
      const remove = () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
      };
      remove();
      return { target: file, open: async () => SqliteRepository.open({ path: file }), drop: async () => remove() };
    });
    const bin = findPostgresBin();
    if (!bin) {
      options.log('analytics: no PostgreSQL server binaries (apt-get install postgresql); SQLite only');
      return sqlite;
    }
    const server = await startPostgres(bin);
    try {
      const postgres = await measureDialect(options, 'postgres', async (name) => {
        const database = await createTestDatabase(server.url, name);
        return { target: database.url, open: () => PostgresRepository.open({ url: database.url }), drop: database.drop };
      });
      return {
        settings: { ...sqlite.settings, postgres: 'Debian PostgreSQL on loopback, fsync off, default settings otherwise' },
        figures: [...sqlite.figures, ...postgres.figures],
        tables: [...(sqlite.tables ?? []), ...(postgres.tables ?? [])],
        notes: [...(sqlite.notes ?? []), ...(postgres.notes ?? [])],
      };
    } finally {
      await server.stop();
    }
  },
};

interface BenchDatabase {
  /** What the seed script's --db takes. */
  target: string;
  open(): Promise<Repository>;
  drop(): Promise<void>;
}

async function measureDialect(
  options: BenchOptions,
  dialect: Repository['dialect'],
  create: (name: string) => Promise<BenchDatabase>,
): Promise<Partial> {
  const count = sized(options, 1_000_000, 2_000);
  const queryRuns = sized(options, 15, 1);
  const database = await create(`analytics_${dialect}_${count}`);
  const name = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  const suffix = dialect === 'sqlite' ? '' : '-postgres';
  try {
    const seeded = await seed(database.target, count);
    options.log(`analytics (${name}): seeded ${count} sentiments at ${seeded.rowsPerSecond} rows/s`);
    const seededTasks = await seed(database.target, count, SEEDED_TASK);
    options.log(`analytics (${name}): seeded ${count} ${SEEDED_TASK} results at ${seededTasks.rowsPerSecond} rows/s`);
    const repository = await database.open();
    try {
      const now = Date.now();
      const range = { from: new Date(now - YEAR_MS), to: new Date(now + 1) };
      const graphql = statsOverGraphQL(repository);
      const viaGraphQL: number[] = [];
      const direct: number[] = [];
      const tasks: number[] = [];
      const naive: number[] = [];
      let total = 0;
      await graphql(range);
      for (let run = 0; run < queryRuns; run += 1) {
        viaGraphQL.push((await timed(() => graphql(range))).ms);
        const measured = await timed(async () =>
          toSentimentStats(await repository.taskStats({ task: 'sentiment', owner: null, bucket: 'day', ...range })),
        );
        direct.push(measured.ms);
        total = measured.value.total;
        tasks.push(
          (await timed(() => repository.taskStats({ task: SEEDED_TASK, owner: null, bucket: 'day', ...range }))).ms,
        );
        naive.push((await timed(() => naiveDailyStats(repository, range))).ms);
      }
      const inserts = await measureInserts(repository, sized(options, 300, 2));
      const figures: Figure[] = [
        figure({
          id: `stats-graphql${suffix}`,
          label: `${name}: sentimentStats over ${total.toLocaleString('en-US')} sentiments, a year by day (GraphQL, in-process)`,
          unit: 'ms',
          value: summarize(viaGraphQL),
          baseline: { label: 'naive SQL: group the raw rows by day', value: summarize(naive) },
          target: { on: 'value', op: '<=', threshold: 50 },
        }),
        figure({
          id: `stats-db${suffix}`,
          label: `${name}: the same aggregation, database layer only (daily roll-up + edge hours and rows)`,
          unit: 'ms',
          value: summarize(direct),
          baseline: { label: 'naive SQL', value: summarize(naive) },
        }),
        figure({
          id: `task-stats-db${suffix}`,
          label: `${name}: taskStats of ${SEEDED_TASK} over ${count.toLocaleString('en-US')} results (3 labels), a year by day`,
          unit: 'ms',
          value: summarize(tasks),
          baseline: { label: 'sentimentStats, same layer', value: summarize(direct) },
          target: { on: 'value', op: '<=', threshold: 50 },
        }),
        figure({
          id: `insert-batch${suffix}`,
          label: `${name}: storing sentiments as the service does (${BATCH} per transaction, roll-ups included)`,
          unit: 'rows/s',
          value: summarize(inserts.batchedRowsPerSecond),
          baseline: { label: 'seed script: raw bulk statements', value: summarize([seeded.rowsPerSecond]) },
        }),
        figure({
          id: `insert-single${suffix}`,
          label: `${name}: storing one sentiment per transaction (a \`sentiment\` query)`,
          unit: 'rows/s',
          value: summarize(inserts.singleRowsPerSecond),
          baseline: { label: `${BATCH} per transaction`, value: summarize(inserts.batchedRowsPerSecond) },
        }),
      ];
      return {
        settings: {
          'stored sentiments': count,
          [`stored ${SEEDED_TASK} results`]: count,
          'query runs': queryRuns,
          range: 'last 365 days',
          bucket: 'DAY',
        },
        figures,
        tables: [
          {
            title: `Seeding (${name})`,
            columns: ['Rows', 'Insert (s)', 'Rows/s', 'Roll-up rebuild (ms)'],
            rows: [
              [`${count} sentiments`, seeded.insertSeconds, seeded.rowsPerSecond, seeded.rebuildMs],
              [
                `${count} ${SEEDED_TASK} results`,
                seededTasks.insertSeconds,
                seededTasks.rowsPerSecond,
                seededTasks.rebuildMs,
              ],
            ],
          },
        ],
        notes:
          dialect === 'sqlite'
            ? [
                '`npm run seed-sentiments` fills the database: rows spread uniformly over the last year, 20% from chat, ' +
                  'then the hourly and daily roll-ups are rebuilt; `--task intent` does the same for a classify task ' +
                  '(3 labels). ' +
                  'The GraphQL query runs through the real schema and resolvers with `yoga.fetch` (no socket), so the ' +
                  "figure is the service's own time.",
                'Owner-wide statistics by day, week or month read whole UTC days from the daily roll-up (365 rows per ' +
                  'source and label for a year), the partial days at the edges from the hourly roll-up and only the ' +
                  "partial hours at the range's edges from the results table, in one statement; the naive baseline " +
                  'scans a year of raw rows. The cost still grows with the number of labels, but 24 times more slowly.',
                "Insert throughput uses the service's storage function on the same 1M-row database (one transaction " +
                  'per call, each row also counted in its hour and its day).',
                insertVerdict(summarize(inserts.batchedRowsPerSecond).median, summarize(inserts.singleRowsPerSecond).median),
              ]
            : [
                'PostgreSQL runs the same statements (drizzle, node-postgres pool, one read-only REPEATABLE READ ' +
                  'transaction per stats query) on a server of its own on loopback; the seed uses one `unnest` INSERT ' +
                  'per 10,000 rows, then ANALYZE.',
                `PostgreSQL insert rates are per replica: each call is a round trip per statement over loopback (` +
                  `${Math.round(summarize(inserts.singleRowsPerSecond).median)} single-row transactions/s).`,
              ],
      };
    } finally {
      await repository.close();
    }
  } finally {
    await database.drop();
  }
}

interface Seeded {
  insertSeconds: number;
  rowsPerSecond: number;
  rebuildMs: number;
}

/** Runs the seeding script as a user would and reads its report. */
function seed(target: string, count: number, task?: string): Promise<Seeded> {
  const args = ['--import', 'tsx', 'scripts/seedSentiments.ts', '--db', target, '--count', String(count)];
  const child = spawn(process.execPath, [...args, ...(task === undefined ? [] : ['--task', task])], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const inserted = output.match(/inserted \d+ [\w ]+ in ([\d.]+) s \((\d+) rows\/s\)/);
      const rebuilt = output.match(/rebuilt the hourly and daily roll-ups in (\d+) ms/);
      if (code !== 0 || !inserted || !rebuilt) return reject(new Error(`seed-sentiments failed (code ${code}):\n${output}`));
      resolve({ insertSeconds: Number(inserted[1]), rowsPerSecond: Number(inserted[2]), rebuildMs: Number(rebuilt[1]) });
    });
  });
}

function statsOverGraphQL(database: Repository) {
  const config = loadConfig({ LOG_LEVEL: 'silent', PLAYGROUND: 'false' });
  const { app } = createService(config, { repository: database, processMetrics: false });
  return async (range: { from: Date; to: Date }): Promise<void> => {
    const response = await app.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        query: STATS_QUERY,
        variables: { from: range.from.toISOString(), to: range.to.toISOString() },
      }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    if (body.errors || !body.data) throw new Error(`sentimentStats failed: ${JSON.stringify(body.errors)}`);
  };
}

/** What one would write without the roll-up: every row of the range, grouped by day. */
async function naiveDailyStats(database: Repository, range: { from: Date; to: Date }): Promise<unknown[]> {
  if (database instanceof SqliteRepository) {
    return database.database.sqlite
      .prepare(
        `select created_at - created_at % ${DAY_MS} as day, count(*) as total,
           sum(label = 'positive') as positive, sum(label = 'negative') as negative, sum(label = 'neutral') as neutral,
           avg(confidence) as average_confidence
         from task_results where owner is null and task = 'sentiment' and created_at >= ? and created_at < ?
         group by 1 order by 1`,
      )
      .all(range.from.getTime(), range.to.getTime());
  }
  if (!(database instanceof PostgresRepository)) throw new Error(`no naive query for ${database.dialect}`);
  const result = await database.database.pool.query(
    `select date_trunc('day', created_at, 'UTC') as day, count(*) as total,
       count(*) filter (where label = 'positive') as positive, count(*) filter (where label = 'negative') as negative,
       count(*) filter (where label = 'neutral') as neutral, avg(confidence) as average_confidence
     from task_results where owner is null and task = 'sentiment' and created_at >= $1 and created_at < $2
     group by 1 order by 1`,
    [range.from, range.to],
  );
  return result.rows;
}

async function measureInserts(database: Repository, batches: number) {
  const record = (index: number): QueryAnalysisInput => ({
    owner: null,
    text: `benchmark text ${index}`,
    taskResults: [
      {
        task: 'sentiment',
        kind: 'classify',
        locale: 'en',
        label: (['positive', 'negative', 'neutral'] as const)[index % 3]!,
        confidence: 0.8,
        scores: { positive: 0.8, negative: 0.1, neutral: 0.1 },
        latencyMs: 12,
      },
    ],
  });
  const batchedRowsPerSecond: number[] = [];
  const singleRowsPerSecond: number[] = [];
  // Three rounds of each, alternating, so the two see the same database and the same moment of the machine.
  for (let round = 0; round < 3; round += 1) {
    let startedAt = performance.now();
    for (let batch = 0; batch < batches; batch += 1) {
      await database.insertQueryAnalyses(Array.from({ length: BATCH }, (_, item) => record(batch * BATCH + item)));
    }
    batchedRowsPerSecond.push((batches * BATCH * 1000) / (performance.now() - startedAt));
    startedAt = performance.now();
    for (let item = 0; item < batches * 4; item += 1) await database.insertQueryAnalyses([record(item)]);
    singleRowsPerSecond.push((batches * 4 * 1000) / (performance.now() - startedAt));
  }
  return { batchedRowsPerSecond, singleRowsPerSecond };
}

function insertVerdict(batched: number, single: number): string {
  const ratio = batched / single;
  return (
    `Batching ${BATCH} rows per transaction changes the rate by ${ratio.toFixed(2)}×: a transaction inserts its rows ` +
    'in one statement and upserts each roll-up key (owner, task, source, label, hour or day) once, so its cost is ' +
    'mostly per statement, not per row. Either way it is far above what the model can classify (a few sentiments ' +
    'per second).'
  );
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAt = performance.now();
  const value = await work();
  return { value, ms: performance.now() - startedAt };
}

if (isMainModule(import.meta.url)) await runStandalone(analytics);
