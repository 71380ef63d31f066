// The database layer against real SQLite files, the real migrations and (when the run has one) a real PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseInvalidError,
  DatabaseLockedError,
  DatabaseMigrationError,
  DatabaseUnavailableError,
  SqliteRepository,
  type ConversationRow,
  type NewTaskResult,
  type OpenSqliteOptions,
  type QueryAnalysisInput,
  type Repository,
  type StatsBucket,
  type StatsRange,
} from '../src/db/index.js';
import type { SentimentLabel } from '../src/engine/index.js';
import { toSentimentStats } from '../src/service/sentimentStats.js';
import { createDatabase, testDialects, type TestDatabase } from './support/dialects.js';

let tempDir = '';
let fileCount = 0;
const openRepositories: SqliteRepository[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  tempDir = mkdtempSync(path.join(tmpdir(), 'db-test-'));
});

afterEach(async () => {
  for (const repository of openRepositories.splice(0)) await repository.close();
  await Promise.all(children.splice(0).map(stopChild));
});

afterAll(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

function freshPath(): string {
  fileCount += 1;
  return path.join(tempDir, `nested-${fileCount}`, 'app.db');
}

function open(options: OpenSqliteOptions): SqliteRepository {
  const repository = SqliteRepository.open(options);
  openRepositories.push(repository);
  return repository;
}

/** A result of the task `sentiment`, as the service stores it. */
function classified(label: SentimentLabel, confidence = 0.9): NewTaskResult {
  const rest = (1 - confidence) / 2;
  return {
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
    latencyMs: 12.5,
  };
}

/** sentimentStats as the service answers it: taskStats of `sentiment`, reshaped. */
async function sentimentStats(repository: Repository, options: StatsRange) {
  return toSentimentStats(await repository.taskStats({ task: 'sentiment', ...options }));
}

/** A `sentiments` query's batch: one sentiment per text, in one transaction. */
function insertQuerySentiments(
  repository: Repository,
  records: (Omit<QueryAnalysisInput, 'taskResults'> & { sentiment: NewTaskResult })[],
) {
  return repository.insertQueryAnalyses(records.map(({ sentiment, ...input }) => ({ ...input, taskResults: [sentiment] })));
}

/** Each message's sentiment label (null when it has none), oldest message first. */
async function sentimentLabels(repository: Repository, conversationId: string): Promise<(string | null)[]> {
  const listed = await repository.listMessages(conversationId);
  const results = await repository.listTaskResultsOfMessages(listed.map((message) => message.id));
  return listed.map((message) => results.get(message.id)?.find((r) => r.task === 'sentiment')?.label ?? null);
}

const SPAWN_SCRIPT = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
if (process.argv[2] === 'lock') db.exec('BEGIN IMMEDIATE');
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;

// A separate process, because SQLite's locks are per process and that is what a second server would be.
async function holdDatabase(dbPath: string, mode: 'lock' | 'open'): Promise<void> {
  const child = spawn(process.execPath, ['-e', SPAWN_SCRIPT, dbPath, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`lock holder exited early with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
}

describe('SQLite files', () => {
  it('creates the folder, the tables and WAL mode on an empty file', () => {
    const { sqlite } = open({ path: freshPath() }).database;
    const tables = sqlite.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all();
    expect(tables).toEqual(
      expect.arrayContaining(['conversations', 'messages', 'task_results', 'task_hourly_counts', '__drizzle_migrations']),
    );
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('keeps data across close and reopen without migrating twice', async () => {
    const dbPath = freshPath();
    const first = open({ path: dbPath });
    const conversation = await first.createConversation({ owner: 'alice', title: 'Hello' });
    await first.insertUserTurn({ conversationId: conversation.id, content: 'I love it', taskResults: [classified('positive')] });
    await first.close();

    const second = open({ path: dbPath });
    expect(await second.getConversation(conversation.id, 'alice')).toMatchObject({ id: conversation.id, title: 'Hello' });
    expect(await sentimentLabels(second, conversation.id)).toEqual(['positive']);
    // Each migration recorded once, however often the file was opened.
    const migrationFiles = readdirSync(fileURLToPath(new URL('../migrations/sqlite', import.meta.url))).filter((name) =>
      name.endsWith('.sql'),
    );
    expect(second.database.sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get()).toBe(
      migrationFiles.length,
    );
  });

  it('opens read-only for readers, and refuses a read-only open of an unmigrated file', async () => {
    const dbPath = freshPath();
    const writer = open({ path: dbPath });
    await writer.createConversation({ owner: null, title: 'shared' });
    const reader = open({ path: dbPath, readonly: true });
    expect((await reader.listConversations({ owner: null })).items.map((c) => c.title)).toEqual(['shared']);
    await expect(reader.createConversation({ owner: null })).rejects.toThrow();

    const emptyPath = path.join(tempDir, 'empty.db');
    writeFileSync(emptyPath, '');
    expect(() => open({ path: emptyPath, readonly: true })).toThrow(DatabaseMigrationError);
  });

  it('reports an unwritable location as DATABASE_UNAVAILABLE', () => {
    // A regular file where a folder should be fails even for root, unlike permission bits.
    const blocker = path.join(tempDir, 'not-a-folder');
    writeFileSync(blocker, 'x');
    expect(() => open({ path: path.join(blocker, 'app.db') })).toThrow(
      expect.objectContaining({ code: 'DATABASE_UNAVAILABLE', name: 'DatabaseUnavailableError' }),
    );
    const folderAsFile = path.join(tempDir, 'a-folder');
    mkdirSync(folderAsFile);
    expect(() => open({ path: folderAsFile })).toThrow(DatabaseUnavailableError);
  });

  it('reports a file that is not SQLite as DATABASE_INVALID', () => {
    const junk = path.join(tempDir, 'junk.db');
    writeFileSync(junk, 'this is plainly not a database file, and it is long enough to have a header'.repeat(20));
    expect(() => open({ path: junk })).toThrow(expect.objectContaining({ code: 'DATABASE_INVALID' }));
    expect(() => open({ path: junk })).toThrow(DatabaseInvalidError);
  });

  it('reports a write lock held by another process as DATABASE_LOCKED, and opens once it is gone', async () => {
    const dbPath = freshPath();
    await open({ path: dbPath }).close();
    await holdDatabase(dbPath, 'lock');
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).toThrow(DatabaseLockedError);
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).toThrow(expect.objectContaining({ code: 'DATABASE_LOCKED' }));
    await Promise.all(children.splice(0).map(stopChild));
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).not.toThrow();
  });

  it('shares the file with another process that merely has it open', async () => {
    // WAL allows that, so a second reader such as the seed script or a stats CLI must not be refused.
    const dbPath = freshPath();
    await open({ path: dbPath }).close();
    await holdDatabase(dbPath, 'open');
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).not.toThrow();
  });
});

describe.each(testDialects())('on %s', (dialect) => {
  let database: TestDatabase;
  let repo: Repository;
  beforeAll(async () => {
    database = await createDatabase(dialect, tempDir, 'dialect');
    repo = await database.open();
  });
  afterAll(() => database.dispose());

  describe('conversations and messages', () => {
    it('scopes reads, lists and deletes to the owner, with null meaning "no owner" only', async () => {
      const mine = await repo.createConversation({ owner: 'alice-key', title: 'mine' });
      const anonymous = await repo.createConversation({ owner: null, title: 'anonymous' });

      expect(await repo.getConversation(mine.id, 'bob-key')).toBeNull();
      expect(await repo.getConversation(mine.id, null)).toBeNull();
      expect(await repo.getConversation(anonymous.id, 'alice-key')).toBeNull();
      expect((await repo.getConversation(anonymous.id, null))?.title).toBe('anonymous');
      expect((await repo.listConversations({ owner: 'bob-key' })).items).toEqual([]);
      expect((await repo.listConversations({ owner: null })).items.map((c) => c.id)).not.toContain(mine.id);

      expect(await repo.deleteConversation(mine.id, 'bob-key')).toBe(false);
      expect(await repo.deleteConversation(mine.id, null)).toBe(false);
      expect(await repo.getConversation(mine.id, 'alice-key')).not.toBeNull();
      expect(await repo.deleteConversation(mine.id, 'alice-key')).toBe(true);
      expect(await repo.deleteConversation(mine.id, 'alice-key')).toBe(false);
    });

    it('pages newest first with hasNextPage and endCursor', async () => {
      const owner = 'pager-key';
      const created: ConversationRow[] = [];
      for (const n of [1, 2, 3, 4, 5]) created.push(await repo.createConversation({ owner, title: `c${n}` }));
      await repo.createConversation({ owner: 'someone-else', title: 'other' });

      const page1 = await repo.listConversations({ owner, first: 2 });
      expect(page1.items.map((c) => c.title)).toEqual(['c5', 'c4']);
      expect(page1.hasNextPage).toBe(true);
      const page2 = await repo.listConversations({ owner, first: 2, after: page1.endCursor });
      expect(page2.items.map((c) => c.title)).toEqual(['c3', 'c2']);
      expect(page2.hasNextPage).toBe(true);
      const page3 = await repo.listConversations({ owner, first: 2, after: page2.endCursor });
      expect(page3.items.map((c) => c.title)).toEqual(['c1']);
      expect(page3.hasNextPage).toBe(false);
      expect(page3.endCursor).toBe(created[0]?.id);

      const beyond = await repo.listConversations({ owner, first: 2, after: page3.endCursor });
      expect(beyond).toEqual({ items: [], hasNextPage: false, endCursor: null });
      expect((await repo.listConversations({ owner })).items).toHaveLength(5);
    });

    it("lists messages oldest first with the user turns' results and bumps updatedAt", async () => {
      const conversation = await repo.createConversation({ owner: 'chat-key', title: null });
      const later = new Date(conversation.createdAt.getTime() + 60_000);
      const turn = await repo.insertUserTurn({
        conversationId: conversation.id,
        content: 'This is awful',
        taskResults: [
          classified('negative', 0.7),
          {
            task: 'intent',
            kind: 'classify',
            locale: 'en',
            label: 'complaint',
            confidence: 0.6,
            scores: { complaint: 0.6, other: 0.4 },
            latencyMs: 3,
          },
          { task: 'keywords', kind: 'extract', locale: 'en', value: ['awful'], latencyMs: 9 },
        ],
        createdAt: later,
      });
      const reply = await repo.insertAssistantReply({
        conversationId: conversation.id,
        content: 'I am sorry to hear',
        status: 'aborted',
        finishReason: 'aborted',
        tokenCount: 5,
        latencyMs: 80,
        createdAt: new Date(later.getTime() + 1_000),
      });

      expect(turn?.taskResults[0]).toMatchObject({
        task: 'sentiment',
        source: 'chat',
        owner: 'chat-key',
        conversationId: conversation.id,
        messageId: turn?.message.id,
        text: null,
      });
      const listed = await repo.listMessages(conversation.id);
      const labels = await sentimentLabels(repo, conversation.id);
      expect(listed.map((m, index) => [m.role, m.content, m.status, labels[index]])).toEqual([
        ['user', 'This is awful', 'complete', 'negative'],
        ['assistant', 'I am sorry to hear', 'aborted', null],
      ]);
      expect(listed[1]).toMatchObject({ id: reply?.id, finishReason: 'aborted', tokenCount: 5, latencyMs: 80 });
      expect((await repo.getConversation(conversation.id, 'chat-key'))?.updatedAt).toEqual(
        new Date(later.getTime() + 1_000),
      );
      const results = (await repo.listTaskResultsOfMessages([turn!.message.id])).get(turn!.message.id)!;
      expect(
        results.map((r) => [
          r.task,
          r.kind,
          r.label,
          r.confidence,
          r.scores && JSON.parse(r.scores),
          r.value && JSON.parse(r.value),
        ]),
      ).toEqual([
        ['sentiment', 'classify', 'negative', 0.7, { positive: (1 - 0.7) / 2, negative: 0.7, neutral: (1 - 0.7) / 2 }, null],
        ['intent', 'classify', 'complaint', 0.6, { complaint: 0.6, other: 0.4 }, null],
        ['keywords', 'extract', null, null, null, ['awful']],
      ]);
      expect(
        results.every((r) => r.source === 'chat' && r.owner === 'chat-key' && r.createdAt.getTime() === later.getTime()),
      ).toBe(true);
    });

    it('returns null instead of writing into a conversation that is gone', async () => {
      const conversation = await repo.createConversation({ owner: null });
      await repo.deleteConversation(conversation.id, null);
      const conversationId = conversation.id;
      expect(await repo.insertUserTurn({ conversationId, content: 'hi', taskResults: [classified('neutral')] })).toBeNull();
      const reply = { content: 'partial', status: 'failed', finishReason: null, tokenCount: null, latencyMs: null } as const;
      expect(await repo.insertAssistantReply({ conversationId, ...reply })).toBeNull();
    });

    it("stores a later extraction with a stored message (its conversation's owner, the message's time), none for one gone", async () => {
      const conversation = await repo.createConversation({ owner: 'later-key' });
      const at = new Date(conversation.createdAt.getTime() + 30_000);
      const turn = await repo.insertUserTurn({ conversationId: conversation.id, content: 'my parcel', createdAt: at });
      const keywords = { task: 'keywords', kind: 'extract', locale: 'en', value: ['parcel'], latencyMs: 3 } as const;
      const rows = await repo.insertMessageResults({ messageId: turn!.message.id, taskResults: [keywords] });
      expect(rows?.map((row) => [row.task, row.source, row.owner, row.conversationId, row.messageId, row.createdAt])).toEqual([
        ['keywords', 'chat', 'later-key', conversation.id, turn!.message.id, at],
      ]);
      expect((await repo.listTaskResultsOfMessages([turn!.message.id])).get(turn!.message.id)).toEqual(rows);

      await repo.deleteConversation(conversation.id, 'later-key');
      expect(await repo.insertMessageResults({ messageId: turn!.message.id, taskResults: [keywords] })).toBeNull();
      expect(await database.rows('select id from task_results where message_id = ?', turn!.message.id)).toEqual([]);
      expect(await database.rows("select id from task_results where task = 'keywords' and owner = ?", 'later-key')).toHaveLength(1);
    });

    it('deletes messages with their conversation but keeps the results, detached, for analytics', async () => {
      const owner = 'delete-key';
      const conversation = await repo.createConversation({ owner });
      const conversationId = conversation.id;
      const intent = {
        task: 'intent',
        kind: 'classify',
        locale: 'en',
        label: 'praise',
        confidence: 0.8,
        scores: { praise: 0.8, other: 0.2 },
        latencyMs: 2,
      } as const;
      const turn = await repo.insertUserTurn({
        conversationId,
        content: 'great',
        taskResults: [classified('positive'), intent],
      });
      const reply = { content: 'yay', status: 'complete', finishReason: 'stop', tokenCount: 1, latencyMs: 1 } as const;
      await repo.insertAssistantReply({ conversationId, ...reply });

      expect(await repo.deleteConversation(conversation.id, owner)).toBe(true);
      expect(await repo.listMessages(conversation.id)).toEqual([]);
      const kept = await database.rows(
        'select conversation_id, message_id, label from task_results where id = ?',
        turn?.taskResults[0]?.id,
      );
      expect(kept).toEqual([{ conversation_id: null, message_id: null, label: 'positive' }]);
      const keptTask = await database.rows(
        'select conversation_id, message_id, label from task_results where id = ?',
        turn?.taskResults[1]?.id,
      );
      expect(keptTask).toEqual([{ conversation_id: null, message_id: null, label: 'praise' }]);
      expect((await sentimentStats(repo, { owner, bucket: 'day' })).total).toBe(1);
      expect((await sentimentStats(repo, { owner, bucket: 'day', conversationId: conversation.id })).total).toBe(0);
      expect((await repo.taskStats({ task: 'intent', owner, bucket: 'day' })).labels).toEqual([
        { label: 'praise', count: 1 },
      ]);
    });
  });

  describe('sentimentStats', () => {
    const owner = 'stats-key';
    let conversationId = '';
    const at = (iso: string) => new Date(iso);

    beforeAll(async () => {
      // 2024-01-29 and 2024-02-05 are Mondays; 2024-02-04 is a Sunday.
      await insertQuerySentiments(repo, [
        { sentiment: classified('positive', 0.8), owner, text: 'a', createdAt: at('2024-01-31T23:30:00Z') },
        { sentiment: classified('negative', 0.6), owner, text: 'b', createdAt: at('2024-02-01T00:10:00Z') },
        { sentiment: classified('neutral', 0.5), owner, text: 'c', createdAt: at('2024-02-04T23:59:59.999Z') },
        { sentiment: classified('positive', 0.9), owner, text: 'd', createdAt: at('2024-02-05T00:00:00Z') },
        { sentiment: classified('negative', 0.99), owner: 'other-key', text: 'not ours', createdAt: at('2024-02-01T00:20:00Z') },
        { sentiment: classified('neutral', 0.4), owner: null, text: "nobody's", createdAt: at('2024-02-01T00:30:00Z') },
      ]);
      conversationId = (await repo.createConversation({ owner })).id;
      const createdAt = at('2024-02-05T00:45:00Z');
      await repo.insertUserTurn({ conversationId, content: 'e', taskResults: [classified('positive', 0.7)], createdAt });
    });

    const series = async (bucket: StatsBucket, extra: Partial<StatsRange> = {}) =>
      (await sentimentStats(repo, { owner, bucket, ...extra })).series.map((p) => [p.start.toISOString(), p.total]);

    it('totals what was stored for the owner and nobody else', async () => {
      const stats = await sentimentStats(repo, { owner, bucket: 'day' });
      expect(stats).toMatchObject({ total: 5, positive: 3, negative: 1, neutral: 1 });
      expect(stats.averageConfidence).toBeCloseTo((0.8 + 0.6 + 0.5 + 0.9 + 0.7) / 5, 10);
      expect(await sentimentStats(repo, { owner: null, bucket: 'day' })).toMatchObject({ total: 1, neutral: 1 });
      expect(await sentimentStats(repo, { owner: 'nobody-key', bucket: 'day' })).toEqual({
        total: 0,
        positive: 0,
        negative: 0,
        neutral: 0,
        averageConfidence: 0,
        series: [],
      });
    });

    it('buckets by UTC hour, day, ISO week (Monday) and calendar month, ascending, non-empty only', async () => {
      expect(await series('hour')).toEqual([
        ['2024-01-31T23:00:00.000Z', 1],
        ['2024-02-01T00:00:00.000Z', 1],
        ['2024-02-04T23:00:00.000Z', 1],
        ['2024-02-05T00:00:00.000Z', 2],
      ]);
      expect(await series('day')).toEqual([
        ['2024-01-31T00:00:00.000Z', 1],
        ['2024-02-01T00:00:00.000Z', 1],
        ['2024-02-04T00:00:00.000Z', 1],
        ['2024-02-05T00:00:00.000Z', 2],
      ]);
      // Sunday's last millisecond still belongs to the week that began on Monday the 29th.
      expect(await series('week')).toEqual([
        ['2024-01-29T00:00:00.000Z', 3],
        ['2024-02-05T00:00:00.000Z', 2],
      ]);
      expect(await series('month')).toEqual([
        ['2024-01-01T00:00:00.000Z', 1],
        ['2024-02-01T00:00:00.000Z', 4],
      ]);
      const [week] = (await sentimentStats(repo, { owner, bucket: 'week' })).series;
      expect(week).toMatchObject({ positive: 1, negative: 1, neutral: 1 });
    });

    it('filters by source and conversation', async () => {
      expect(await sentimentStats(repo, { owner, bucket: 'day', source: 'chat' })).toMatchObject({ total: 1, positive: 1 });
      expect(await sentimentStats(repo, { owner, bucket: 'day', source: 'query' })).toMatchObject({ total: 4, positive: 2 });
      expect(await series('hour', { conversationId })).toEqual([['2024-02-05T00:00:00.000Z', 1]]);
      expect((await sentimentStats(repo, { owner: 'other-key', bucket: 'day', conversationId })).total).toBe(0);
    });

    it('treats from as inclusive and to as exclusive, also inside partial hours', async () => {
      const range = async (from: string, to: string) =>
        (await sentimentStats(repo, { owner, bucket: 'hour', from: at(from), to: at(to) })).total;
      expect(await range('2024-02-01T00:00:00Z', '2024-02-05T00:00:00Z')).toBe(2);
      expect(await range('2024-02-01T00:10:00Z', '2024-02-05T00:00:00.001Z')).toBe(3);
      // Both edges fall mid-hour: whole hours come from the roll-up, the edges from the rows themselves.
      expect(await range('2024-01-31T23:45:00Z', '2024-02-05T00:30:00Z')).toBe(3);
      expect(await range('2024-02-05T00:00:00Z', '2024-02-05T00:30:00Z')).toBe(1);
      expect(await range('2024-02-05T00:30:00Z', '2024-02-05T00:00:00Z')).toBe(0);
      expect((await sentimentStats(repo, { owner, bucket: 'day', from: at('2024-02-05T00:00:00Z') })).total).toBe(2);
      expect((await sentimentStats(repo, { owner, bucket: 'day', to: at('2024-02-01T00:10:00Z') })).total).toBe(1);
    });

    it('counts exactly the rows inside arbitrary ranges, whatever hours their edges cut through', async () => {
      const randomOwner = 'random-key';
      let seed = 42;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed / 2_147_483_648;
      };
      const start = Date.UTC(2024, 2, 1);
      const span = 3 * 24 * 3_600_000;
      const times = Array.from({ length: 96 }, () => start + Math.floor(random() * span));
      for (let i = 0; i < times.length; i += 32) {
        await insertQuerySentiments(
          repo,
          times
            .slice(i, i + 32)
            .map((t) => ({ sentiment: classified('neutral'), owner: randomOwner, text: 'x', createdAt: new Date(t) })),
        );
      }
      for (let trial = 0; trial < 40; trial += 1) {
        const from = start + Math.floor(random() * span);
        const to = from + Math.floor(random() * span * 0.5);
        const expected = times.filter((t) => t >= from && t < to).length;
        const stats = await sentimentStats(repo, {
          owner: randomOwner,
          bucket: 'hour',
          from: new Date(from),
          to: new Date(to),
        });
        expect(stats.total).toBe(expected);
        expect(stats.series.reduce((sum, point) => sum + point.total, 0)).toBe(expected);
      }
    });

    it('counts exactly the rows inside arbitrary ranges in every bucket, whatever days and hours their edges cut through', async () => {
      const daysOwner = 'days-key';
      let seed = 7;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed / 2_147_483_648;
      };
      const labels: SentimentLabel[] = ['positive', 'negative', 'neutral'];
      // About ten weeks from a Monday: ranges cross days, ISO weeks and the March/April/May month ends.
      const start = Date.UTC(2024, 2, 25);
      const span = 70 * DAY;
      const stored = Array.from({ length: 160 }, () => ({
        at: start + Math.floor(random() * span),
        label: labels[Math.floor(random() * 3)]!,
      }));
      // Batches of several results per transaction (the roll-ups' keys grouped), then single ones.
      for (let i = 0; i < 128; i += 32) {
        await insertQuerySentiments(
          repo,
          stored.slice(i, i + 32).map(({ at, label }) => ({
            sentiment: classified(label),
            owner: daysOwner,
            text: 'x',
            createdAt: new Date(at),
          })),
        );
      }
      for (const { at, label } of stored.slice(128)) {
        await insertQuerySentiments(repo, [
          { sentiment: classified(label), owner: daysOwner, text: 'x', createdAt: new Date(at) },
        ]);
      }
      const buckets: StatsBucket[] = ['hour', 'day', 'week', 'month'];
      for (let trial = 0; trial < 24; trial += 1) {
        const from = start + Math.floor(random() * span);
        const to = from + Math.floor(random() * span * 0.6);
        // A few ranges open at one end.
        const range = { from: trial % 8 === 3 ? undefined : new Date(from), to: trial % 8 === 5 ? undefined : new Date(to) };
        const inside = stored.filter(
          ({ at }) => (range.from === undefined || at >= from) && (range.to === undefined || at < to),
        );
        for (const bucket of buckets) {
          const stats = await sentimentStats(repo, { owner: daysOwner, bucket, ...range });
          const starts = [...new Set(inside.map(({ at }) => bucketStartOf(at, bucket)))].sort((a, b) => a - b);
          const expected = starts.map((bucketStart) => {
            const rows = inside.filter(({ at }) => bucketStartOf(at, bucket) === bucketStart);
            const count = (label: SentimentLabel) => rows.filter((row) => row.label === label).length;
            return [bucketStart, rows.length, count('positive'), count('negative'), count('neutral')];
          });
          expect(
            stats.series.map((p) => [p.start.getTime(), p.total, p.positive, p.negative, p.neutral]),
            `${bucket} from ${range.from?.toISOString()} to ${range.to?.toISOString()}`,
          ).toEqual(expected);
          expect(stats.total).toBe(inside.length);
        }
      }
      await expectRollupsMatchRows(database);
    });

    it('keeps both roll-ups equal to the counts of the rows they roll up, also after rebuilding them', async () => {
      await expectRollupsMatchRows(database);
      const before = await sentimentStats(repo, { owner, bucket: 'day' });
      await repo.rebuildHourlyCounts();
      await expectRollupsMatchRows(database);
      expect(await sentimentStats(repo, { owner, bucket: 'day' })).toEqual({
        ...before,
        averageConfidence: expect.closeTo(before.averageConfidence, 10),
      });
    });

    it('gives the same answer after rebuilding the hourly roll-ups from the rows', async () => {
      const before = await sentimentStats(repo, { owner, bucket: 'hour' });
      const tasksBefore = await repo.taskStats({ task: 'intent', owner: 'delete-key', bucket: 'hour' });
      await repo.rebuildHourlyCounts();
      expect(await sentimentStats(repo, { owner, bucket: 'hour' })).toEqual({
        ...before,
        // Summing per hour first may round differently in the last bits.
        averageConfidence: expect.closeTo(before.averageConfidence, 10),
      });
      expect(await repo.taskStats({ task: 'intent', owner: 'delete-key', bucket: 'hour' })).toEqual(tasksBefore);
    });
  });
});

const DAY = 24 * 3_600_000;

/** The start of the bucket holding `at`, counted here independently of the SQL. */
function bucketStartOf(at: number, bucket: StatsBucket): number {
  if (bucket === 'hour') return at - (at % 3_600_000);
  if (bucket === 'day') return at - (at % DAY);
  if (bucket === 'week') return at - ((at + 3 * DAY) % (7 * DAY));
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** Every key of task_hourly_counts and task_daily_counts holds exactly the count and confidence sum of its rows. */
async function expectRollupsMatchRows(database: TestDatabase): Promise<void> {
  const epoch = (value: unknown) => (typeof value === 'number' ? value : new Date(value as string).getTime());
  const results = await database.rows<{
    owner: string | null;
    task: string;
    source: string;
    label: string;
    confidence: number;
    created_at: unknown;
  }>(`select owner, task, source, label, confidence, created_at from task_results where kind = 'classify'`);
  for (const [table, column, unit] of [
    ['task_hourly_counts', 'hour_start', 3_600_000],
    ['task_daily_counts', 'day_start', DAY],
  ] as const) {
    const expected = new Map<string, { count: number; confidenceSum: number }>();
    for (const row of results) {
      const at = epoch(row.created_at);
      const key = [row.owner ?? '', row.task, row.source, row.label, at - (at % unit)].join('|');
      const sums = expected.get(key) ?? { count: 0, confidenceSum: 0 };
      sums.count += 1;
      sums.confidenceSum += row.confidence;
      expected.set(key, sums);
    }
    const stored = await database.rows<Record<string, unknown>>(
      `select owner_key, task, source, label, ${column} as start, count, confidence_sum from ${table}`,
    );
    const actual = new Map(
      stored.map((row) => [
        [row.owner_key, row.task, row.source, row.label, epoch(row.start)].join('|'),
        { count: Number(row.count), confidenceSum: Number(row.confidence_sum) },
      ]),
    );
    expect([...actual.keys()].sort(), table).toEqual([...expected.keys()].sort());
    for (const [key, sums] of expected) {
      expect(actual.get(key)!.count, `${table} ${key}`).toBe(sums.count);
      expect(actual.get(key)!.confidenceSum, `${table} ${key}`).toBeCloseTo(sums.confidenceSum, 9);
    }
  }
}
