// Tasks over the API on a real SQLite file and a real PostgreSQL: classify, extract, analyze, taskStats, chat tasks,
// owners; and SQLite's migration of an older database.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteRepository } from '../src/db/index.js';
import type { Engine } from '../src/engine/index.js';
import { toSentimentStats } from '../src/service/sentimentStats.js';
import { createDatabase, testDialects, type Dialect, type TestDatabase } from './support/dialects.js';
import {
  createScratchDir,
  createTestServiceOn,
  loadTestEngine,
  type GraphQLBody,
  type TestService,
} from './support/testApp.js';

const scratch = createScratchDir('aio-task-api-');
const MIGRATIONS = fileURLToPath(new URL('../migrations/sqlite', import.meta.url));
const KEY_A = 'task-api-key-a-0123456789';
const KEY_B = 'task-api-key-b-0123456789';
let engine: Engine;
const leftovers: (() => unknown)[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
});

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  await engine.dispose();
  scratch.remove();
});

async function serviceOn(dialect: Dialect, name: string, env: Record<string, string>): Promise<[TestService, TestDatabase]> {
  const database = await createDatabase(dialect, scratch.dir, name);
  leftovers.push(() => database.dispose());
  return [createTestServiceOn(await database.open(), engine, env), database];
}

const CLASSIFICATION = 'id task label confidence scores { label probability } locale';
const EXTRACTION = 'id task value locale';
const RESULT = `__typename ... on Classification { ${CLASSIFICATION} } ... on Extraction { ${EXTRACTION} }`;

function codeOf(body: GraphQLBody): string | undefined {
  return body.errors?.[0]?.extensions?.code;
}

describe.each(testDialects())('on %s', (dialect) => {
  let service: TestService;
  let db: TestDatabase;

  beforeAll(async () => {
    [service, db] = await serviceOn(dialect, 'tasks', { CHAT_TASKS: 'sentiment,intent,keywords' });
  });

  describe('tasks over GraphQL', () => {
    it('lists every task with its kind, labels and scoring', async () => {
      const body = await service.graphql(
        '{ tasks { name kind description scoring labels { name description(locale: ZH) steers } schema maxTokens } }',
      );
      expect(body.errors).toBeUndefined();
      const tasks = body.data!.tasks as {
        name: string;
        kind: string;
        scoring: string;
        labels: { name: string; steers: boolean }[];
        schema: unknown;
        maxTokens: number | null;
      }[];
      expect(tasks.map((task) => [task.name, task.kind])).toEqual([
        ['sentiment', 'CLASSIFY'],
        ['intent', 'CLASSIFY'],
        ['keywords', 'EXTRACT'],
      ]);
      const intent = tasks[1]!;
      expect(intent.labels.find((label) => label.name === 'complaint')).toEqual({
        name: 'complaint',
        description: '表达不满或反映问题',
        steers: true,
      });
      expect(intent.labels.find((label) => label.name === 'other')!.steers).toBe(false);
      expect(['FIRST_TOKEN', 'WHOLE_LABEL']).toContain(intent.scoring);
      expect(tasks[2]).toMatchObject({ scoring: 'GRAMMAR', schema: { type: 'array', maxItems: 5 } });
      expect(tasks[2]!.maxTokens).toBeGreaterThan(100);
    });

    it('classifies and extracts, detecting the language, and stores each result with its text', async () => {
      const classified = await service.graphql(
        `{ classify(task: "intent", text: "你们的快递怎么还没到？") { __typename ${CLASSIFICATION} } }`,
      );
      expect(classified.errors).toBeUndefined();
      const intent = classified.data!.classify;
      expect(intent).toMatchObject({ __typename: 'Classification', task: 'intent', locale: 'ZH' });
      expect(intent.scores.map((score: { label: string }) => score.label)).toEqual([
        'question',
        'request',
        'complaint',
        'praise',
        'greeting',
        'other',
      ]);
      expect(intent.scores.reduce((sum: number, score: { probability: number }) => sum + score.probability, 0)).toBeCloseTo(
        1,
        6,
      );
      const [row] = await db.rows(
        'select task, kind, source, text, label, locale from task_results where id = ?',
        intent.id,
      );
      expect(row).toEqual({
        task: 'intent',
        kind: 'classify',
        source: 'query',
        text: '你们的快递怎么还没到？',
        label: intent.label,
        locale: 'zh',
      });

      const extracted = await service.graphql(
        `{ extract(task: "keywords", text: "The battery dies after an hour.") { __typename ${EXTRACTION} } }`,
      );
      expect(extracted.errors).toBeUndefined();
      expect(extracted.data!.extract).toMatchObject({ __typename: 'Extraction', task: 'keywords', locale: 'EN' });
      const [stored] = await db.rows<{ value: string }>(
        'select value from task_results where id = ?',
        extracted.data!.extract.id,
      );
      expect(JSON.parse(stored!.value)).toEqual(extracted.data!.extract.value);
    });

    it('analyzes with the default tasks, returns and stores them in order, sentiment in the same results store', async () => {
      const body = await service.graphql(
        `{ analyze(text: "I love the new update, thank you!") { locale results { ${RESULT} } } }`,
      );
      expect(body.errors).toBeUndefined();
      const { locale, results } = body.data!.analyze;
      expect(locale).toBe('EN');
      expect(results.map((result: { task: string }) => result.task)).toEqual(['sentiment', 'intent', 'keywords']);
      const [sentiment, intent, keywords] = results;
      expect(await db.rows('select task, source, text from task_results where id = ?', sentiment.id)).toEqual([
        { task: 'sentiment', source: 'query', text: 'I love the new update, thank you!' },
      ]);
      const rows = await db.rows<{ id: string }>(
        'select id from task_results where id in (?, ?) order by id',
        intent.id,
        keywords.id,
      );
      expect(rows.map((row) => row.id)).toEqual([intent.id, keywords.id]);
      const chosen = await service.graphql(
        `{ analyze(text: "hello there", tasks: ["keywords", "intent"]) { results { ${RESULT} } } }`,
      );
      expect(chosen.data!.analyze.results.map((result: { task: string }) => result.task)).toEqual(['keywords', 'intent']);
    });

    it.each([
      [
        'an unknown task',
        '{ classify(task: "mood", text: "x") { id } }',
        /There is no task "mood"; the tasks are sentiment, intent, keywords\./,
      ],
      [
        'an extract task used with classify',
        '{ classify(task: "keywords", text: "x") { id } }',
        /is an extract task; use extract/,
      ],
      [
        'a classify task used with extract',
        '{ extract(task: "intent", text: "x") { id } }',
        /is a classify task; use classify/,
      ],
      [
        // taskStats finds its task with the engine's one lookup: the same refusal as classify's.
        'an unknown task in taskStats',
        '{ taskStats(task: "mood") { total } }',
        /There is no task "mood"; the tasks are sentiment, intent, keywords\./,
      ],
      [
        'an extract task in taskStats',
        '{ taskStats(task: "keywords") { total } }',
        /only classify tasks have label statistics/,
      ],
      ['empty text', '{ analyze(text: " ") { locale } }', /empty/],
    ])('refuses %s with BAD_USER_INPUT', async (_, query, message) => {
      const body = await service.graphql(query);
      expect(codeOf(body)).toBe('BAD_USER_INPUT');
      expect(body.errors![0]!.message).toMatch(message);
    });
  });

  describe('tasks in the chat (CHAT_TASKS=sentiment,intent,keywords)', () => {
    it("runs them on the message before the reply, sends them in ChatStarted's message and stores them with it", async () => {
      const body =
        await service.graphql(`mutation { chat(input: { message: "My parcel is lost, this is the third time!", maxTokens: 4 }) {
        conversation { id messages { role sentiment { label } taskResults { ${RESULT} } } }
        userMessage { id sentiment { label locale } taskResults { ${RESULT} } } } }`);
      expect(body.errors).toBeUndefined();
      const { userMessage, conversation } = body.data!.chat;
      expect(userMessage.sentiment.locale).toBe('EN');
      expect(userMessage.taskResults.map((result: { task: string }) => result.task)).toEqual([
        'sentiment',
        'intent',
        'keywords',
      ]);
      expect(userMessage.taskResults[0].label).toBe(userMessage.sentiment.label.toLowerCase());
      const stored = await db.rows(
        'select task, source, message_id as "messageId" from task_results where message_id = ? order by id',
        userMessage.id,
      );
      expect(stored).toEqual([
        { task: 'sentiment', source: 'chat', messageId: userMessage.id },
        { task: 'intent', source: 'chat', messageId: userMessage.id },
        { task: 'keywords', source: 'chat', messageId: userMessage.id },
      ]);
      // Read back through the conversation, the same results.
      expect(conversation.messages[0].taskResults).toEqual(userMessage.taskResults);
      expect(conversation.messages[1].taskResults).toEqual([]);
    });
  });

  describe('no tasks in the chat (CHAT_TASKS=none)', () => {
    it('replies without a verdict and stores the message with no results', async () => {
      const [plain, plainDb] = await serviceOn(dialect, 'no-chat-tasks', { CHAT_TASKS: 'none' });
      const body = await plain.graphql(`mutation { chat(input: { message: "My parcel is lost again!", maxTokens: 4 }) {
        conversation { id messages { role content } }
        userMessage { id sentiment { label } taskResults { ${RESULT} } } } }`);
      expect(body.errors).toBeUndefined();
      const { userMessage, conversation } = body.data!.chat;
      expect(userMessage.sentiment).toBeNull();
      expect(userMessage.taskResults).toEqual([]);
      expect(conversation.messages.map((message: { role: string }) => message.role)).toEqual(['USER', 'ASSISTANT']);
      expect(conversation.messages[1].content.length).toBeGreaterThan(0);
      const count = async (table: string) =>
        Number((await plainDb.rows<{ n: number | string }>(`select count(*) as n from ${table}`))[0]!.n);
      expect(await count('task_results')).toBe(0);
      expect(await count('messages')).toBe(2);
    });
  });

  describe('taskStats', () => {
    it('counts exactly what was stored, per label and bucket, and only for its owner', async () => {
      const [keyed, keyedDb] = await serviceOn(dialect, 'keyed', { API_KEYS: `${KEY_A},${KEY_B}` });
      const as = (key: string) => async (query: string) => {
        const response = await keyed.app.yoga.fetch('http://yoga/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query }),
        });
        return (await response.json()) as GraphQLBody;
      };
      const [a, b] = [as(KEY_A), as(KEY_B)];
      const texts = [
        'where is it?',
        'please send it',
        'this is awful',
        'thanks a lot',
        'hi!',
        'ok',
        '为什么这么慢？',
        '谢谢你们',
      ];
      for (const text of texts)
        expect((await a(`{ classify(task: "intent", text: ${JSON.stringify(text)}) { id } }`)).errors).toBeUndefined();
      await b('{ classify(task: "intent", text: "only B sees this") { id } }');

      const stats = await a(
        '{ taskStats(task: "intent", bucket: HOUR) { task total averageConfidence labels { label count } series { total labels { label count } } } }',
      );
      expect(stats.errors).toBeUndefined();
      const [owner] = await keyedDb.rows<{ owner: string }>('select owner from task_results where text = ?', 'where is it?');
      const rows = await keyedDb.rows<{ label: string; count: number; average: number }>(
        "select label, cast(count(*) as integer) as count, avg(confidence) as average from task_results where task = 'intent' and owner = ? group by label",
        owner!.owner,
      );
      const { taskStats } = stats.data!;
      expect(taskStats.total).toBe(texts.length);
      expect(
        Object.fromEntries(taskStats.labels.map((entry: { label: string; count: number }) => [entry.label, entry.count])),
      ).toEqual(Object.fromEntries(rows.map((row) => [row.label, row.count])));
      expect(taskStats.series.reduce((sum: number, point: { total: number }) => sum + point.total, 0)).toBe(texts.length);
      expect((await b('{ taskStats(task: "intent") { total } }')).data!.taskStats.total).toBe(1);
      // A range that ends inside the current hour reads its partial hour from the rows: the same totals.
      const inHour = await a(
        `{ taskStats(task: "intent", filter: { from: "2020-01-01T00:00:00Z", to: "${new Date(Date.now() + 1000).toISOString()}" }) { total } }`,
      );
      expect(inHour.data!.taskStats.total).toBe(texts.length);
      // Sentiment's statistics come from the same results store, through the same query.
      const sentiment = await a('{ taskStats(task: "sentiment") { total labels { label } } }');
      expect(sentiment.data!.taskStats.total).toBe(0);
    });
  });
});

describe('the migration', () => {
  it('keeps every row and every sentimentStats answer of a database made by the previous migration', async () => {
    // A database as the previous release left it: only the first migration applied, with data in it.
    const oldMigrations = path.join(scratch.dir, 'old-migrations');
    mkdirSync(path.join(oldMigrations, 'meta'), { recursive: true });
    copyFileSync(path.join(MIGRATIONS, '0000_init.sql'), path.join(oldMigrations, '0000_init.sql'));
    const journal = JSON.parse(readFileSync(path.join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    writeFileSync(
      path.join(oldMigrations, 'meta', '_journal.json'),
      JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }),
    );
    expect(readdirSync(oldMigrations)).toContain('0000_init.sql');
    const databasePath = path.join(scratch.dir, 'old.db');
    const sqlite = new Database(databasePath);
    migrate(drizzle({ client: sqlite }), { migrationsFolder: oldMigrations, migrationsTable: '__drizzle_migrations' });
    const insert =
      sqlite.prepare(`insert into sentiments (id, source, owner, text, locale, method, label, confidence, score_positive,
      score_negative, score_neutral, latency_ms, created_at) values (?, 'query', null, ?, 'en', 'logprob', ?, 0.6, 0.6, 0.2, 0.2, 5, ?)`);
    const hourly = sqlite.prepare(`insert into sentiment_hourly_counts values ('', 'query', ?, ?, ?, 0, 0.6)
      on conflict do update set positive = positive + excluded.positive, negative = negative + excluded.negative, confidence_sum = confidence_sum + 0.6`);
    const at = Date.UTC(2026, 5, 1, 10);
    ['01J0000000000000000000000A', '01J0000000000000000000000B', '01J0000000000000000000000C'].forEach((id, index) => {
      const label = index === 1 ? 'negative' : 'positive';
      insert.run(id, `text ${index}`, label, at + index * 60_000);
      hourly.run(at, label === 'positive' ? 1 : 0, label === 'negative' ? 1 : 0);
    });
    sqlite.exec("insert into conversations values ('01J000000000000000000000CC', null, 'old talk', 1, 2)");
    const before = {
      rows: sqlite.prepare('select * from sentiments order by id').all(),
      conversations: sqlite.prepare('select * from conversations').all(),
    };
    sqlite.close();

    const upgraded = SqliteRepository.open({ path: databasePath });
    try {
      // The sentiments now live in the one results store, under the same ids (the `method` column is not kept).
      const moved = (before.rows as Record<string, unknown>[]).map(
        ({ method: _method, score_positive, score_negative, score_neutral, ...row }) => ({
          ...row,
          task: 'sentiment',
          kind: 'classify',
          scores: JSON.stringify({ positive: score_positive, negative: score_negative, neutral: score_neutral }),
          value: null,
          // Added by a later release (analysis jobs): empty for results of no job.
          job_id: null,
          item_id: null,
        }),
      );
      expect(upgraded.database.sqlite.prepare("select * from task_results where task = 'sentiment' order by id").all()).toEqual(
        moved,
      );
      expect(upgraded.database.sqlite.prepare('select * from conversations').all()).toEqual(before.conversations);
      expect(upgraded.database.sqlite.prepare("select count(*) as n from task_results where task <> 'sentiment'").get()).toEqual({
        n: 0,
      });
      const stats = toSentimentStats(await upgraded.taskStats({ task: 'sentiment', owner: null, bucket: 'day' }));
      expect(stats).toMatchObject({ total: 3, positive: 2, negative: 1, neutral: 0 });
      expect(stats.averageConfidence).toBeCloseTo(0.6, 9);
      const ranged = await upgraded.taskStats({
        task: 'sentiment',
        owner: null,
        bucket: 'hour',
        from: new Date(at + 30_000),
        to: new Date(at + 3_600_000),
      });
      expect(ranged.total).toBe(2);
    } finally {
      await upgraded.close();
    }
  });
});
