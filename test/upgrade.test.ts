// Databases written by earlier releases open under this code with nothing lost, on SQLite and on PostgreSQL: the
// release before the one results store (sentiments in their own tables), before the daily roll-up, and before
// analysis jobs (task_results rebuilt with its job links) — every result, its links and every statistic as before.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PgDialect } from 'drizzle-orm/pg-core';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { SqliteRepository, type Repository, type StatsBucket, type StatsRange, type TaskResultRow } from '../src/db/index.js';
import { migrationsFolder } from '../src/db/migrationsFolder.js';
import { PostgresRepository } from '../src/db/postgres/index.js';
import * as pgSchema from '../src/db/postgres/schema.js';
import { POSTGRES_TIME } from '../src/db/postgres/stats.js';
import * as sqliteSchema from '../src/db/sqlite/schema.js';
import { SQLITE_TIME } from '../src/db/sqlite/stats.js';
import { taskStatsQuery } from '../src/db/stats/taskStatsQuery.js';
import { EngineHolder } from '../src/service/EngineHolder.js';
import { createServices } from '../src/service/createServices.js';
import { createTestDatabase } from './support/postgresServer.js';
import { testDialects, type Dialect } from './support/dialects.js';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-upgrade-');
const opened: Repository[] = [];
const drops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const repository of opened.splice(0)) await repository.close();
  for (const drop of drops.splice(0)) await drop();
});

afterAll(() => scratch.remove());

const HOUR = 3_600_000;
const ALICE = 'alice-fingerprint';
const T = Date.UTC(2026, 5, 1, 10, 15);

interface OldSentiment {
  id: string;
  source: 'chat' | 'query';
  owner: string | null;
  conversationId: string | null;
  messageId: string | null;
  text: string | null;
  locale: 'en' | 'zh';
  label: 'positive' | 'negative' | 'neutral';
  scores: [number, number, number];
  latencyMs: number;
  at: number;
}

// Rows as today's release writes them: chat results linked to their message, query results with their text, a chat
// result whose conversation was deleted (links already null), owners and none, times across hours, days and months.
const CONVERSATIONS = [
  { id: '01J0000000000000000000CNVA', owner: ALICE, title: 'kept talk', at: T - HOUR },
  { id: '01J0000000000000000000CNVB', owner: null, title: 'to delete', at: T - HOUR },
];
const message = (n: number, conversation: number, role: string, content: string, at: number) => ({
  id: `01J0000000000000000000MSG${n}`,
  conversationId: CONVERSATIONS[conversation]!.id,
  role,
  content,
  at,
});
const MESSAGES = [
  message(1, 0, 'user', 'I love it', T),
  message(2, 0, 'assistant', 'Glad!', T + 1),
  message(3, 1, 'user', '太糟糕了', T + 50 * 60_000),
  // A message stored without a sentiment (CHAT_TASKS left it out).
  message(4, 0, 'user', 'ok', T + 2 * HOUR),
];
const [CONVERSATION_A, CONVERSATION_B] = [CONVERSATIONS[0]!.id, CONVERSATIONS[1]!.id];
const chatOf = (conversationId: string | null, messageId: string | null) =>
  ({ source: 'chat', conversationId, messageId, text: null }) as const;
const queryOf = (text: string) => ({ source: 'query', conversationId: null, messageId: null, text }) as const;
const SENTIMENTS: OldSentiment[] = [
  {
    id: '01J00000000000000000000S01',
    ...chatOf(CONVERSATION_A, MESSAGES[0]!.id),
    owner: ALICE,
    locale: 'en',
    label: 'positive',
    scores: [0.7, 0.2, 0.1],
    latencyMs: 11.5,
    at: T,
  },
  {
    id: '01J00000000000000000000S02',
    ...chatOf(CONVERSATION_B, MESSAGES[2]!.id),
    owner: null,
    locale: 'zh',
    label: 'negative',
    scores: [0.1, 0.8, 0.1],
    latencyMs: 9,
    at: T + 50 * 60_000,
  },
  {
    id: '01J00000000000000000000S03',
    ...queryOf('great service'),
    owner: ALICE,
    locale: 'en',
    label: 'positive',
    // Doubles that need all 17 digits: the move must keep them exactly.
    scores: [1 / 3 + 0.2, 1 / 3 - 0.1, 1 / 3 - 0.1],
    latencyMs: 7.25,
    at: T + 25 * 60_000,
  },
  {
    id: '01J00000000000000000000S04',
    ...queryOf('一般般'),
    owner: ALICE,
    locale: 'zh',
    label: 'neutral',
    scores: [0.123456789012345, 0.2, 0.676543210987655],
    latencyMs: 5,
    at: Date.UTC(2026, 5, 2, 9),
  },
  {
    id: '01J00000000000000000000S05',
    ...queryOf('meh'),
    owner: null,
    locale: 'en',
    label: 'neutral',
    scores: [0.25, 0.25, 0.5],
    latencyMs: 4,
    at: Date.UTC(2026, 5, 3, 23, 59, 59, 999),
  },
  {
    id: '01J00000000000000000000S06',
    ...queryOf('terrible'),
    owner: ALICE,
    locale: 'en',
    label: 'negative',
    scores: [0.05, 0.9, 0.05],
    latencyMs: 6,
    at: Date.UTC(2026, 4, 31, 23, 30),
  },
  // A chat result whose conversation was deleted under today's release: its links are already null.
  {
    id: '01J00000000000000000000S07',
    ...chatOf(null, null),
    owner: ALICE,
    locale: 'en',
    label: 'positive',
    scores: [0.6, 0.3, 0.1],
    latencyMs: 8,
    at: T + 105 * 60_000,
  },
];
// Written in the sentiment's transaction, after it: its monotonic ULID sorts after the sentiment's.
const INTENT = { id: '01J00000000000000000000T01', messageId: MESSAGES[0]!.id, label: 'praise', confidence: 0.6 };

const confidenceOf = (sentiment: OldSentiment): number =>
  sentiment.scores[['positive', 'negative', 'neutral'].indexOf(sentiment.label)]!;

/** What today's sentimentStats answers over the fixture: counted here row by row, independently of any roll-up. */
function expectedStats(range: StatsRange, rows: readonly OldSentiment[] = SENTIMENTS) {
  const chosen = rows.filter(
    (row) =>
      row.owner === range.owner &&
      (range.source === undefined || row.source === range.source) &&
      (range.conversationId === undefined || row.conversationId === range.conversationId) &&
      (range.from === undefined || row.at >= range.from.getTime()) &&
      (range.to === undefined || row.at < range.to.getTime()),
  );
  const counts = (list: readonly OldSentiment[]) => ({
    total: list.length,
    positive: list.filter((row) => row.label === 'positive').length,
    negative: list.filter((row) => row.label === 'negative').length,
    neutral: list.filter((row) => row.label === 'neutral').length,
  });
  const starts = [...new Set(chosen.map((row) => bucketStart(row.at, range.bucket)))].sort((a, b) => a - b);
  return {
    ...counts(chosen),
    averageConfidence: chosen.length === 0 ? 0 : chosen.reduce((sum, row) => sum + confidenceOf(row), 0) / chosen.length,
    series: starts.map((start) => ({
      start: new Date(start),
      ...counts(chosen.filter((row) => bucketStart(row.at, range.bucket) === start)),
    })),
  };
}

function bucketStart(at: number, bucket: StatsBucket): number {
  if (bucket === 'hour') return at - (at % HOUR);
  if (bucket === 'day') return at - (at % (24 * HOUR));
  const date = new Date(at);
  if (bucket === 'month') return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  return at - ((at + 3 * 24 * HOUR) % (7 * 24 * HOUR));
}

/** A statement runner on the old database: `?` placeholders, times as the dialect stores them. */
type OldDatabase = { run(sql: string, ...params: unknown[]): Promise<void>; close(): Promise<void> };

/** The migrations folder as a release shipped it: everything before the migration whose tag ends with `firstNew`. */
function todaysMigrations(dialect: Dialect, firstNew = '_sentiments_into_task_results'): string {
  const source = migrationsFolder(dialect);
  const target = path.join(scratch.dir, `${dialect}-migrations-before${firstNew}`);
  mkdirSync(path.join(target, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(path.join(source, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const moved = journal.entries.findIndex((entry) => entry.tag.endsWith(firstNew));
  expect(moved).toBeGreaterThan(0);
  const entries = journal.entries.slice(0, moved);
  for (const entry of entries) copyFileSync(path.join(source, `${entry.tag}.sql`), path.join(target, `${entry.tag}.sql`));
  writeFileSync(path.join(target, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
  return target;
}

async function oldDatabase(dialect: Dialect, firstNew?: string): Promise<{ location: string; old: OldDatabase }> {
  const migrationsFolder = todaysMigrations(dialect, firstNew);
  if (dialect === 'sqlite') {
    const location = path.join(scratch.dir, `todays-${Date.now()}.db`);
    const sqlite = new Database(location);
    migrateSqlite(drizzleSqlite({ client: sqlite }), { migrationsFolder, migrationsTable: '__drizzle_migrations' });
    return {
      location,
      old: {
        run: async (sql, ...params) => void sqlite.prepare(sql).run(...params),
        close: async () => void sqlite.close(),
      },
    };
  }
  const database = await createTestDatabase(inject('postgresAdminUrl'));
  drops.push(database.drop);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await migratePostgres(drizzlePostgres({ client }), {
    migrationsFolder,
    migrationsSchema: 'drizzle',
    migrationsTable: '__drizzle_migrations',
  });
  return {
    location: database.url,
    old: {
      run: async (sql, ...params) => {
        let index = 0;
        await client.query(
          sql.replace(/\?/g, () => `$${++index}`),
          params.map((param) => (param instanceof Date ? param.toISOString() : param)),
        );
      },
      close: () => client.end(),
    },
  };
}

/** Writes the fixture as today's release does: rows, then their hourly roll-ups (the same sums its upserts keep). */
async function writeTodaysRows(dialect: Dialect, old: OldDatabase): Promise<void> {
  const time = (at: number) => (dialect === 'sqlite' ? at : new Date(at));
  for (const c of CONVERSATIONS) {
    await old.run('insert into conversations values (?, ?, ?, ?, ?)', c.id, c.owner, c.title, time(c.at), time(c.at));
  }
  for (const m of MESSAGES) {
    await old.run(
      `insert into messages (id, conversation_id, role, content, status, created_at) values (?, ?, ?, ?, 'complete', ?)`,
      m.id, m.conversationId, m.role, m.content, time(m.at),
    );
  }
  for (const s of SENTIMENTS) {
    await old.run(
      `insert into sentiments (id, source, owner, conversation_id, message_id, text, locale, method, label, confidence,
         score_positive, score_negative, score_neutral, latency_ms, created_at)
       values (?, ?, ?, ?, ?, ?, ?, 'logprob', ?, ?, ?, ?, ?, ?, ?)`,
      s.id, s.source, s.owner, s.conversationId, s.messageId, s.text, s.locale, s.label, confidenceOf(s), ...s.scores,
      s.latencyMs, time(s.at),
    );
  }
  await old.run(
    `insert into task_results (id, task, kind, source, owner, conversation_id, message_id, locale, label, confidence,
       scores, latency_ms, created_at) values (?, 'intent', 'classify', 'chat', ?, ?, ?, 'en', ?, ?, ?, 3, ?)`,
    INTENT.id, ALICE, CONVERSATIONS[0]!.id, INTENT.messageId, INTENT.label, INTENT.confidence,
    JSON.stringify({ praise: 0.6, other: 0.4 }), time(T),
  );
  const hour = dialect === 'sqlite' ? 'created_at - created_at % 3600000' : `date_trunc('hour', created_at, 'UTC')`;
  const count = (label: string) => `sum(case when label = '${label}' then 1 else 0 end)`;
  await old.run(
    `insert into sentiment_hourly_counts select coalesce(owner, ''), source, ${hour}, ${count('positive')},
       ${count('negative')}, ${count('neutral')}, sum(confidence) from sentiments group by 1, 2, 3`,
  );
  await old.run(
    `insert into task_hourly_counts select coalesce(owner, ''), task, source, label, ${hour}, count(*), sum(confidence)
     from task_results group by 1, 2, 3, 4, 5`,
  );
}

async function openUpgraded(dialect: Dialect, location: string): Promise<SqliteRepository | PostgresRepository> {
  const repository =
    dialect === 'sqlite' ? SqliteRepository.open({ path: location }) : await PostgresRepository.open({ url: location });
  opened.push(repository);
  return repository;
}

async function storedResults(repository: SqliteRepository | PostgresRepository): Promise<TaskResultRow[]> {
  if (repository instanceof SqliteRepository) {
    const { taskResults } = sqliteSchema;
    return repository.database.read((db) => db.select().from(taskResults).orderBy(taskResults.id).all());
  }
  return repository.database.db.select().from(pgSchema.taskResults).orderBy(pgSchema.taskResults.id);
}

/** The plan of the statement behind sentimentStats over a year, with sequential scans ruled out where they can be. */
async function sentimentStatsPlan(repository: SqliteRepository | PostgresRepository, range: StatsRange): Promise<string> {
  if (repository instanceof SqliteRepository) {
    const tables = {
      results: sqliteSchema.taskResults,
      hourly: sqliteSchema.taskHourlyCounts,
      daily: sqliteSchema.taskDailyCounts,
      itemTags: sqliteSchema.analysisItemTags,
    };
    const statement = taskStatsQuery(tables, SQLITE_TIME, { task: 'sentiment', ...range });
    const query = new SQLiteSyncDialect().sqlToQuery(statement);
    const plan = repository.database.sqlite.prepare(`explain query plan ${query.sql}`).all(...query.params);
    return (plan as { detail: string }[]).map((step) => step.detail).join('\n');
  }
  const tables = {
    results: pgSchema.taskResults,
    hourly: pgSchema.taskHourlyCounts,
    daily: pgSchema.taskDailyCounts,
    itemTags: pgSchema.analysisItemTags,
  };
  const query = new PgDialect().sqlToQuery(taskStatsQuery(tables, POSTGRES_TIME, { task: 'sentiment', ...range }));
  const client = await repository.database.pool.connect();
  try {
    // A handful of rows would otherwise be read sequentially; the question is whether the index serves the query.
    await client.query('set enable_seqscan = off');
    const plan = await client.query<{ 'QUERY PLAN': string }>(`explain ${query.sql}`, query.params);
    await client.query('reset enable_seqscan');
    return plan.rows.map((row) => row['QUERY PLAN']).join('\n');
  } finally {
    client.release();
  }
}

describe.each(testDialects())('a database written by the release before the one results store (%s)', (dialect) => {
  it('opens with every sentiment, link and statistic as before, and deletes still keep the results', async () => {
    const { location, old } = await oldDatabase(dialect);
    try {
      await writeTodaysRows(dialect, old);
    } finally {
      await old.close();
    }

    const repository = await openUpgraded(dialect, location);
    const services = createServices({ repository, engine: new EngineHolder() });

    // Every sentiment is a result of the task `sentiment`, under its own id, with every field it had.
    const stored = await storedResults(repository);
    expect(stored.filter((row) => row.task === 'sentiment')).toEqual(
      [...SENTIMENTS]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((s) => ({
          id: s.id,
          task: 'sentiment',
          kind: 'classify',
          source: s.source,
          owner: s.owner,
          conversationId: s.conversationId,
          messageId: s.messageId,
          jobId: null,
          itemId: null,
          text: s.text,
          locale: s.locale,
          label: s.label,
          confidence: confidenceOf(s),
          scores: expect.any(String),
          value: null,
          latencyMs: s.latencyMs,
          createdAt: new Date(s.at),
        })),
    );
    for (const row of stored.filter((item) => item.task === 'sentiment')) {
      const [positive, negative, neutral] = SENTIMENTS.find((s) => s.id === row.id)!.scores;
      // Exactly the stored doubles, keyed and ordered as the API lists them.
      expect(Object.entries(JSON.parse(row.scores!))).toEqual([
        ['positive', positive],
        ['negative', negative],
        ['neutral', neutral],
      ]);
    }
    expect(stored.find((row) => row.task === 'intent')).toMatchObject({
      id: INTENT.id,
      label: 'praise',
      messageId: INTENT.messageId,
    });

    // A conversation's messages show their sentiment (and the task's other results) as before.
    const messages = await services.conversations.messages(CONVERSATIONS[0]!.id);
    expect(messages.map((m) => [m.id, m.sentiment?.id ?? null, m.sentiment?.label ?? null])).toEqual([
      [MESSAGES[0]!.id, SENTIMENTS[0]!.id, 'positive'],
      [MESSAGES[1]!.id, null, null],
      [MESSAGES[3]!.id, null, null],
    ]);
    expect(messages[0]!.sentiment).toMatchObject({
      confidence: 0.7,
      scores: { positive: 0.7, negative: 0.2, neutral: 0.1 },
      locale: 'en',
      latencyMs: 11.5,
      createdAt: new Date(T),
      display: '😄 LLM sentiment: positive',
    });
    expect(messages[0]!.taskResults.map((result) => [result.id, result.task])).toEqual([
      [SENTIMENTS[0]!.id, 'sentiment'],
      [INTENT.id, 'intent'],
    ]);
    const [chinese] = await services.conversations.messages(CONVERSATIONS[1]!.id);
    expect(chinese!.sentiment).toMatchObject({ id: SENTIMENTS[1]!.id, label: 'negative', display: '😡 LLM 情感判断: 负面' });

    // sentimentStats answers as before: owners, sources, a conversation, buckets, ranges cutting through hours.
    const ranges: StatsRange[] = [
      { owner: ALICE, bucket: 'day' },
      { owner: ALICE, bucket: 'hour' },
      { owner: null, bucket: 'week' },
      { owner: ALICE, bucket: 'month', source: 'query' },
      { owner: ALICE, bucket: 'hour', source: 'chat' },
      { owner: ALICE, bucket: 'hour', conversationId: CONVERSATIONS[0]!.id },
      { owner: ALICE, bucket: 'hour', from: new Date(T + 5 * 60_000), to: new Date(Date.UTC(2026, 5, 2, 9, 30)) },
      { owner: ALICE, bucket: 'day', from: new Date(Date.UTC(2026, 4, 31)), to: new Date(Date.UTC(2026, 5, 4)) },
    ];
    const answer = (range: StatsRange) =>
      services.analytics.sentimentStats(range.owner, { ...range, conversationId: range.conversationId ?? null }, range.bucket);
    for (const range of ranges) {
      const expected = expectedStats(range);
      // Summing per hour and label first may round differently in the last bits.
      const averageConfidence = expect.closeTo(expected.averageConfidence, 10);
      expect(await answer(range)).toEqual({ ...expected, averageConfidence });
    }
    expect(await repository.taskStats({ task: 'sentiment', owner: ALICE, bucket: 'day' })).toMatchObject({ total: 5 });

    // Deleting a conversation removes its messages and keeps its sentiment, detached, in every total.
    expect(await services.conversations.delete(CONVERSATIONS[1]!.id, null)).toBe(true);
    const detached = (await storedResults(repository)).find((row) => row.id === SENTIMENTS[1]!.id);
    expect(detached).toMatchObject({ conversationId: null, messageId: null, label: 'negative' });
    expect((await answer({ owner: null, bucket: 'day' })).total).toBe(2);
    expect((await answer({ owner: null, bucket: 'day', conversationId: CONVERSATIONS[1]!.id })).total).toBe(0);

    // New sentiments count in the same migrated roll-up as the old ones.
    await repository.insertQueryAnalyses([
      {
        owner: ALICE,
        text: 'new',
        createdAt: new Date(T + 30 * 60_000),
        taskResults: [
          {
            task: 'sentiment',
            kind: 'classify',
            locale: 'en',
            label: 'positive',
            confidence: 0.9,
            scores: { positive: 0.9, negative: 0.05, neutral: 0.05 },
            latencyMs: 1,
          },
        ],
      },
    ]);
    const yearRange = { from: new Date(Date.UTC(2025, 11, 1)), to: new Date(Date.UTC(2026, 11, 1) + 1) };
    const withNew = await answer({ owner: ALICE, bucket: 'hour', ...yearRange });
    expect(withNew.total).toBe(6);
    const hourOfT = withNew.series.find((point) => point.start.getTime() === T - (T % HOUR));
    expect(hourOfT).toMatchObject({ total: 3, positive: 3 });

    // sentimentStats over whole hours still reads the roll-up by its key (task = 'sentiment'), not the rows; by day,
    // whole days come from the daily roll-up instead.
    const dayPlan = await sentimentStatsPlan(repository, { owner: ALICE, bucket: 'day', ...yearRange });
    expect(dayPlan).toMatch(
      dialect === 'sqlite'
        ? /task_daily_counts USING (COVERING )?INDEX sqlite_autoindex_task_daily_counts_1 \(owner_key=\? AND task=\? AND source=\? AND day_start>\? AND day_start<\?\)/
        : /Index (Only )?Scan using task_daily_counts_owner_key_task_source_day_start_label_pk on task_daily_counts/,
    );
    const plan = await sentimentStatsPlan(repository, { owner: ALICE, bucket: 'hour', ...yearRange });
    expect(plan).toMatch(
      dialect === 'sqlite'
        ? /task_hourly_counts USING (COVERING )?INDEX sqlite_autoindex_task_hourly_counts_1 \(owner_key=\? AND task=\? AND source=\? AND hour_start>\? AND hour_start<\?\)/
        : /Index (Only )?Scan using task_hourly_counts_owner_key_task_source_hour_start_label_pk on task_hourly_counts/,
    );
    expect(plan).toMatch(/task_results_owner_task_source_created_idx/);

    // The old tables are gone.
    const tables =
      repository instanceof SqliteRepository
        ? repository.database.sqlite.prepare(`select name from sqlite_schema where type = 'table'`).pluck().all()
        : (
            await repository.database.pool.query<{ name: string }>(
              `select tablename as name from pg_tables where schemaname = 'public'`,
            )
          ).rows.map((row) => row.name);
    expect(tables).not.toContain('sentiments');
    expect(tables).not.toContain('sentiment_hourly_counts');
    expect(tables).toEqual(expect.arrayContaining(['task_results', 'task_hourly_counts']));
  });
});

describe.each(testDialects())('a database written by the release before the daily roll-up (%s)', (dialect) => {
  it('opens with task_daily_counts filled from its results, and stats by day, week and month as before', async () => {
    const { location, old } = await oldDatabase(dialect, '_task_daily_counts');
    const time = (at: number) => (dialect === 'sqlite' ? at : new Date(at));
    try {
      for (const s of SENTIMENTS) {
        await old.run(
          `insert into task_results (id, task, kind, source, owner, text, locale, label, confidence, scores, latency_ms,
             created_at) values (?, 'sentiment', 'classify', ?, ?, ?, ?, ?, ?, '{}', ?, ?)`,
          s.id, s.source, s.owner, s.text, s.locale, s.label, confidenceOf(s), s.latencyMs, time(s.at),
        );
      }
      const hour = dialect === 'sqlite' ? 'created_at - created_at % 3600000' : `date_trunc('hour', created_at, 'UTC')`;
      await old.run(
        `insert into task_hourly_counts select coalesce(owner, ''), task, source, label, ${hour}, count(*),
           sum(confidence) from task_results group by 1, 2, 3, 4, 5`,
      );
    } finally {
      await old.close();
    }
    const repository = await openUpgraded(dialect, location);
    expect(await dailyCounts(repository)).toEqual(expectedDailyCounts(SENTIMENTS));
    const ranges: StatsRange[] = [
      { owner: ALICE, bucket: 'day' },
      { owner: ALICE, bucket: 'week', from: new Date(T + 5 * 60_000), to: new Date(Date.UTC(2026, 5, 3, 9, 30)) },
      { owner: null, bucket: 'month', from: new Date(Date.UTC(2026, 4, 31, 12)), to: new Date(Date.UTC(2026, 6, 1)) },
    ];
    for (const range of ranges) {
      const expected = expectedStats(range);
      const stats = await repository.taskStats({ task: 'sentiment', ...range });
      expect(stats.total).toBe(expected.total);
      expect(stats.series.map((point) => [point.start.getTime(), point.total])).toEqual(
        expected.series.map((point) => [point.start.getTime(), point.total]),
      );
    }
  });
});

describe.each(testDialects())('a database written by the release before analysis jobs (%s)', (dialect) => {
  it('opens with every result, link, roll-up and statistic kept, and stores job results beside them', async () => {
    const { location, old } = await oldDatabase(dialect, '_analysis_jobs');
    const time = (at: number) => (dialect === 'sqlite' ? at : new Date(at));
    const keywordsId = '01J00000000000000000000K01';
    try {
      for (const c of CONVERSATIONS) {
        await old.run('insert into conversations values (?, ?, ?, ?, ?)', c.id, c.owner, c.title, time(c.at), time(c.at));
      }
      for (const m of MESSAGES) {
        await old.run(
          `insert into messages (id, conversation_id, role, content, status, created_at) values (?, ?, ?, ?, 'complete', ?)`,
          m.id, m.conversationId, m.role, m.content, time(m.at),
        );
      }
      // The previous release's rows: every sentiment in task_results with its links, and an extraction of a query.
      for (const s of SENTIMENTS) {
        await old.run(
          `insert into task_results (id, task, kind, source, owner, conversation_id, message_id, text, locale, label,
             confidence, scores, latency_ms, created_at) values (?, 'sentiment', 'classify', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          s.id, s.source, s.owner, s.conversationId, s.messageId, s.text, s.locale, s.label, confidenceOf(s),
          JSON.stringify({ positive: s.scores[0], negative: s.scores[1], neutral: s.scores[2] }), s.latencyMs, time(s.at),
        );
      }
      await old.run(
        `insert into task_results (id, task, kind, source, owner, text, locale, value, latency_ms, created_at)
         values (?, 'keywords', 'extract', 'query', ?, 'great service', 'en', ?, 9, ?)`,
        keywordsId, ALICE, JSON.stringify(['service']), time(T),
      );
      const hour = dialect === 'sqlite' ? 'created_at - created_at % 3600000' : `date_trunc('hour', created_at, 'UTC')`;
      const day = dialect === 'sqlite' ? 'created_at - created_at % 86400000' : `date_trunc('day', created_at, 'UTC')`;
      for (const [table, start] of [['task_hourly_counts', hour], ['task_daily_counts', day]] as const) {
        await old.run(
          `insert into ${table} select coalesce(owner, ''), task, source, label, ${start}, count(*), sum(confidence)
           from task_results where kind = 'classify' group by 1, 2, 3, 4, 5`,
        );
      }
    } finally {
      await old.close();
    }

    const repository = await openUpgraded(dialect, location);
    const stored = await storedResults(repository);
    expect(stored.map((row) => [row.id, row.task, row.jobId, row.itemId])).toEqual(
      [...SENTIMENTS.map((s) => s.id), keywordsId].sort().map((id) => [id, id === keywordsId ? 'keywords' : 'sentiment', null, null]),
    );
    for (const s of SENTIMENTS) {
      expect(stored.find((row) => row.id === s.id)).toEqual({
        id: s.id,
        task: 'sentiment',
        kind: 'classify',
        source: s.source,
        owner: s.owner,
        conversationId: s.conversationId,
        messageId: s.messageId,
        jobId: null,
        itemId: null,
        text: s.text,
        locale: s.locale,
        label: s.label,
        confidence: confidenceOf(s),
        scores: JSON.stringify({ positive: s.scores[0], negative: s.scores[1], neutral: s.scores[2] }),
        value: null,
        latencyMs: s.latencyMs,
        createdAt: new Date(s.at),
      });
    }
    expect(stored.find((row) => row.id === keywordsId)).toMatchObject({ value: JSON.stringify(['service']), text: 'great service' });
    expect(await dailyCounts(repository)).toEqual(expectedDailyCounts(SENTIMENTS));
    const ranges: StatsRange[] = [
      { owner: ALICE, bucket: 'hour' },
      { owner: null, bucket: 'week' },
      { owner: ALICE, bucket: 'hour', conversationId: CONVERSATION_A },
      { owner: ALICE, bucket: 'day', from: new Date(T + 5 * 60_000), to: new Date(Date.UTC(2026, 5, 3, 9, 30)) },
    ];
    for (const range of ranges) {
      const expected = expectedStats(range);
      const stats = await repository.taskStats({ task: 'sentiment', ...range });
      expect(stats.total).toBe(expected.total);
      expect(stats.series.map((point) => [point.start.getTime(), point.total])).toEqual(
        expected.series.map((point) => [point.start.getTime(), point.total]),
      );
    }
    if (repository instanceof SqliteRepository) {
      // The rebuilt task_results keeps every link: nothing dangles, and the file is sound.
      expect(repository.database.sqlite.pragma('foreign_key_check')).toEqual([]);
      expect(repository.database.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    }
    // Deleting a conversation still detaches its results (ON DELETE SET NULL survived the upgrade).
    expect(await repository.deleteConversation(CONVERSATION_B, null)).toBe(true);
    expect((await storedResults(repository)).find((row) => row.id === SENTIMENTS[1]!.id)).toMatchObject({
      conversationId: null,
      messageId: null,
    });

    // A job's results go into the same store and roll-ups, beside the old ones.
    const created = await repository.createAnalysisJob({ owner: ALICE, name: null, tasks: ['sentiment'], maxActive: 10 });
    if (created.outcome !== 'created') throw new Error(`createAnalysisJob: ${created.outcome}`);
    const job = created.job;
    await repository.addAnalysisItems({
      jobId: job.id,
      owner: ALICE,
      items: [{ externalId: 'r1', text: 'fine', tags: [{ key: 'product', value: 'phone' }] }],
      maxItems: 10,
    });
    await repository.startAnalysisJob(job.id, ALICE);
    const [claimed] = await repository.claimAnalysisItems({ worker: 'upgrade', limit: 1, leaseMs: 60_000 });
    const result = {
      task: 'sentiment',
      kind: 'classify',
      locale: 'en',
      label: 'positive',
      confidence: 0.9,
      scores: { positive: 0.9, negative: 0.05, neutral: 0.05 },
      latencyMs: 1,
    } as const;
    expect(await repository.completeAnalysisItems('upgrade', [{ itemId: claimed!.id, results: [result] }])).toEqual([
      claimed!.id,
    ]);
    const before = expectedStats({ owner: ALICE, bucket: 'day' });
    expect(await repository.taskStats({ task: 'sentiment', owner: ALICE, bucket: 'day' })).toMatchObject({
      total: before.total + 1,
    });
    expect(
      await repository.taskStats({ task: 'sentiment', owner: ALICE, bucket: 'day', tags: [{ key: 'product', value: 'phone' }] }),
    ).toMatchObject({ total: 1, labels: [{ label: 'positive', count: 1 }] });
  });
});

type DailyCount = [string, string, string, number, number];

/** The daily roll-up's rows, as [owner key, source, label, day start, count], sorted. */
async function dailyCounts(repository: SqliteRepository | PostgresRepository): Promise<DailyCount[]> {
  const rows =
    repository instanceof SqliteRepository
      ? repository.database.read((db) => db.select().from(sqliteSchema.taskDailyCounts).all())
      : await repository.database.db.select().from(pgSchema.taskDailyCounts);
  return rows
    .map((row): DailyCount => [row.ownerKey, row.source, row.label, row.dayStart.getTime(), row.count])
    .sort((a, b) => (a.join() < b.join() ? -1 : 1));
}

/** The same counted here from the fixture rows. */
function expectedDailyCounts(rows: readonly OldSentiment[]): DailyCount[] {
  const counts = new Map<string, DailyCount>();
  for (const row of rows) {
    const day = row.at - (row.at % (24 * HOUR));
    const found: DailyCount = counts.get([row.owner, row.source, row.label, day].join()) ?? [
      row.owner ?? '', row.source, row.label, day, 0,
    ];
    found[4] += 1;
    counts.set([row.owner, row.source, row.label, day].join(), found);
  }
  return [...counts.values()].sort((a, b) => (a.join() < b.join() ? -1 : 1));
}
