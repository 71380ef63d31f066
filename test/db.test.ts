// The database layer against real SQLite files and the real migrations: opening, scoping, paging, stats.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createConversation,
  DatabaseInvalidError,
  DatabaseLockedError,
  DatabaseMigrationError,
  DatabaseUnavailableError,
  deleteConversation,
  getConversation,
  insertAssistantReply,
  insertQuerySentiments,
  insertUserTurn,
  listConversations,
  listMessages,
  openDatabase,
  rebuildHourlyCounts,
  sentimentStats,
  type AppDatabase,
  type NewSentiment,
  type OpenDatabaseOptions,
  type SentimentLabel,
  type StatsBucket,
} from '../src/db/index.js';

let tempDir = '';
let fileCount = 0;
const openDatabases: AppDatabase[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  tempDir = mkdtempSync(path.join(tmpdir(), 'db-test-'));
});

afterEach(async () => {
  for (const app of openDatabases.splice(0)) app.close();
  await Promise.all(children.splice(0).map(stopChild));
});

afterAll(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

function freshPath(): string {
  fileCount += 1;
  return path.join(tempDir, `nested-${fileCount}`, 'app.db');
}

function open(options: OpenDatabaseOptions): AppDatabase {
  const app = openDatabase(options);
  openDatabases.push(app);
  return app;
}

function classified(label: SentimentLabel, confidence = 0.9): NewSentiment {
  const rest = (1 - confidence) / 2;
  return {
    locale: 'en',
    method: 'logprob',
    label,
    confidence,
    scorePositive: label === 'positive' ? confidence : rest,
    scoreNegative: label === 'negative' ? confidence : rest,
    scoreNeutral: label === 'neutral' ? confidence : rest,
    latencyMs: 12.5,
  };
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

describe('openDatabase', () => {
  it('creates the folder, the tables and WAL mode on an empty file', () => {
    const app = open({ path: freshPath() });
    const tables = app.sqlite
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
      .pluck()
      .all();
    expect(tables).toEqual(
      expect.arrayContaining([
        'conversations',
        'messages',
        'sentiments',
        'sentiment_hourly_counts',
        '__drizzle_migrations',
      ]),
    );
    expect(app.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(app.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('keeps data across close and reopen without migrating twice', () => {
    const dbPath = freshPath();
    const first = open({ path: dbPath });
    const conversation = createConversation(first, { owner: 'alice', title: 'Hello' });
    insertUserTurn(first, { conversationId: conversation.id, content: 'I love it', sentiment: classified('positive') });
    first.close();

    const second = open({ path: dbPath });
    expect(getConversation(second, conversation.id, 'alice')).toMatchObject({ id: conversation.id, title: 'Hello' });
    expect(listMessages(second, conversation.id).map((m) => m.sentiment?.label)).toEqual(['positive']);
    // Each migration recorded once, however often the file was opened.
    const migrationFiles = readdirSync(fileURLToPath(new URL('../migrations', import.meta.url))).filter((name) => name.endsWith('.sql'));
    expect(second.sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get()).toBe(migrationFiles.length);
  });

  it('opens read-only for readers, and refuses a read-only open of an unmigrated file', () => {
    const dbPath = freshPath();
    const writer = open({ path: dbPath });
    createConversation(writer, { owner: null, title: 'shared' });
    const reader = open({ path: dbPath, readonly: true });
    expect(listConversations(reader, { owner: null }).items.map((c) => c.title)).toEqual(['shared']);
    expect(() => createConversation(reader, { owner: null })).toThrow();

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
    open({ path: dbPath }).close();
    await holdDatabase(dbPath, 'lock');
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).toThrow(DatabaseLockedError);
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).toThrow(
      expect.objectContaining({ code: 'DATABASE_LOCKED' }),
    );
    await Promise.all(children.splice(0).map(stopChild));
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).not.toThrow();
  });

  it('shares the file with another process that merely has it open', async () => {
    // WAL allows that, so a second reader such as the seed script or a stats CLI must not be refused.
    const dbPath = freshPath();
    open({ path: dbPath }).close();
    await holdDatabase(dbPath, 'open');
    expect(() => open({ path: dbPath, busyTimeoutMs: 100 })).not.toThrow();
  });
});

describe('conversations and messages', () => {
  let app: AppDatabase;
  beforeAll(() => {
    app = openDatabase({ path: freshPath() });
  });
  afterAll(() => app.close());

  it('scopes reads, lists and deletes to the owner, with null meaning "no owner" only', () => {
    const mine = createConversation(app, { owner: 'alice-key', title: 'mine' });
    const anonymous = createConversation(app, { owner: null, title: 'anonymous' });

    expect(getConversation(app, mine.id, 'bob-key')).toBeNull();
    expect(getConversation(app, mine.id, null)).toBeNull();
    expect(getConversation(app, anonymous.id, 'alice-key')).toBeNull();
    expect(getConversation(app, anonymous.id, null)?.title).toBe('anonymous');
    expect(listConversations(app, { owner: 'bob-key' }).items).toEqual([]);
    expect(listConversations(app, { owner: null }).items.map((c) => c.id)).not.toContain(mine.id);

    expect(deleteConversation(app, mine.id, 'bob-key')).toBe(false);
    expect(deleteConversation(app, mine.id, null)).toBe(false);
    expect(getConversation(app, mine.id, 'alice-key')).not.toBeNull();
    expect(deleteConversation(app, mine.id, 'alice-key')).toBe(true);
    expect(deleteConversation(app, mine.id, 'alice-key')).toBe(false);
  });

  it('pages newest first with hasNextPage and endCursor', () => {
    const owner = 'pager-key';
    const created = [1, 2, 3, 4, 5].map((n) => createConversation(app, { owner, title: `c${n}` }));
    createConversation(app, { owner: 'someone-else', title: 'other' });

    const page1 = listConversations(app, { owner, first: 2 });
    expect(page1.items.map((c) => c.title)).toEqual(['c5', 'c4']);
    expect(page1.hasNextPage).toBe(true);
    const page2 = listConversations(app, { owner, first: 2, after: page1.endCursor });
    expect(page2.items.map((c) => c.title)).toEqual(['c3', 'c2']);
    expect(page2.hasNextPage).toBe(true);
    const page3 = listConversations(app, { owner, first: 2, after: page2.endCursor });
    expect(page3.items.map((c) => c.title)).toEqual(['c1']);
    expect(page3.hasNextPage).toBe(false);
    expect(page3.endCursor).toBe(created[0]?.id);

    const beyond = listConversations(app, { owner, first: 2, after: page3.endCursor });
    expect(beyond).toEqual({ items: [], hasNextPage: false, endCursor: null });
    expect(listConversations(app, { owner }).items).toHaveLength(5);
  });

  it('lists messages oldest first with the user turns\' sentiments and bumps updatedAt', () => {
    const conversation = createConversation(app, { owner: 'chat-key', title: null });
    const later = new Date(conversation.createdAt.getTime() + 60_000);
    const turn = insertUserTurn(app, {
      conversationId: conversation.id,
      content: 'This is awful',
      sentiment: classified('negative', 0.7),
      createdAt: later,
    });
    const reply = insertAssistantReply(app, {
      conversationId: conversation.id,
      content: 'I am sorry to hear',
      status: 'aborted',
      finishReason: 'aborted',
      tokenCount: 5,
      latencyMs: 80,
      createdAt: new Date(later.getTime() + 1_000),
    });

    expect(turn?.sentiment).toMatchObject({
      source: 'chat',
      owner: 'chat-key',
      conversationId: conversation.id,
      messageId: turn?.message.id,
      text: null,
    });
    const listed = listMessages(app, conversation.id);
    expect(listed.map((m) => [m.role, m.content, m.status, m.sentiment?.label ?? null])).toEqual([
      ['user', 'This is awful', 'complete', 'negative'],
      ['assistant', 'I am sorry to hear', 'aborted', null],
    ]);
    expect(listed[1]).toMatchObject({ id: reply?.id, finishReason: 'aborted', tokenCount: 5, latencyMs: 80 });
    expect(getConversation(app, conversation.id, 'chat-key')?.updatedAt).toEqual(new Date(later.getTime() + 1_000));
  });

  it('returns null instead of writing into a conversation that is gone', () => {
    const conversation = createConversation(app, { owner: null });
    deleteConversation(app, conversation.id, null);
    const conversationId = conversation.id;
    expect(insertUserTurn(app, { conversationId, content: 'hi', sentiment: classified('neutral') })).toBeNull();
    const reply = { content: 'partial', status: 'failed', finishReason: null, tokenCount: null, latencyMs: null } as const;
    expect(insertAssistantReply(app, { conversationId, ...reply })).toBeNull();
  });

  it('deletes messages with their conversation but keeps the sentiments, detached, for analytics', () => {
    const owner = 'delete-key';
    const conversation = createConversation(app, { owner });
    const conversationId = conversation.id;
    const turn = insertUserTurn(app, { conversationId, content: 'great', sentiment: classified('positive') });
    const reply = { content: 'yay', status: 'complete', finishReason: 'stop', tokenCount: 1, latencyMs: 1 } as const;
    insertAssistantReply(app, { conversationId, ...reply });

    expect(deleteConversation(app, conversation.id, owner)).toBe(true);
    expect(listMessages(app, conversation.id)).toEqual([]);
    const kept = app.sqlite
      .prepare('SELECT conversation_id, message_id, label FROM sentiments WHERE id = ?')
      .get(turn?.sentiment?.id);
    expect(kept).toEqual({ conversation_id: null, message_id: null, label: 'positive' });
    expect(sentimentStats(app, { owner, bucket: 'day' }).total).toBe(1);
    expect(sentimentStats(app, { owner, bucket: 'day', conversationId: conversation.id }).total).toBe(0);
  });
});

describe('sentimentStats', () => {
  const owner = 'stats-key';
  let app: AppDatabase;
  let conversationId = '';
  const at = (iso: string) => new Date(iso);

  beforeAll(() => {
    app = openDatabase({ path: freshPath() });
    // 2024-01-29 and 2024-02-05 are Mondays; 2024-02-04 is a Sunday.
    insertQuerySentiments(app, [
      { ...classified('positive', 0.8), owner, text: 'a', createdAt: at('2024-01-31T23:30:00Z') },
      { ...classified('negative', 0.6), owner, text: 'b', createdAt: at('2024-02-01T00:10:00Z') },
      { ...classified('neutral', 0.5), owner, text: 'c', createdAt: at('2024-02-04T23:59:59.999Z') },
      { ...classified('positive', 0.9), owner, text: 'd', createdAt: at('2024-02-05T00:00:00Z') },
      { ...classified('negative', 0.99), owner: 'other-key', text: 'not ours', createdAt: at('2024-02-01T00:20:00Z') },
      { ...classified('neutral', 0.4), owner: null, text: 'nobody\'s', createdAt: at('2024-02-01T00:30:00Z') },
    ]);
    conversationId = createConversation(app, { owner }).id;
    const createdAt = at('2024-02-05T00:45:00Z');
    insertUserTurn(app, { conversationId, content: 'e', sentiment: classified('positive', 0.7), createdAt });
  });
  afterAll(() => app.close());

  const series = (bucket: StatsBucket, extra: Partial<Parameters<typeof sentimentStats>[1]> = {}) =>
    sentimentStats(app, { owner, bucket, ...extra }).series.map((p) => [p.start.toISOString(), p.total]);

  it('totals what was stored for the owner and nobody else', () => {
    const stats = sentimentStats(app, { owner, bucket: 'day' });
    expect(stats).toMatchObject({ total: 5, positive: 3, negative: 1, neutral: 1 });
    expect(stats.averageConfidence).toBeCloseTo((0.8 + 0.6 + 0.5 + 0.9 + 0.7) / 5, 10);
    expect(sentimentStats(app, { owner: null, bucket: 'day' })).toMatchObject({ total: 1, neutral: 1 });
    expect(sentimentStats(app, { owner: 'nobody-key', bucket: 'day' })).toEqual({
      total: 0, positive: 0, negative: 0, neutral: 0, averageConfidence: 0, series: [],
    });
  });

  it('buckets by UTC hour, day, ISO week (Monday) and calendar month, ascending, non-empty only', () => {
    expect(series('hour')).toEqual([
      ['2024-01-31T23:00:00.000Z', 1],
      ['2024-02-01T00:00:00.000Z', 1],
      ['2024-02-04T23:00:00.000Z', 1],
      ['2024-02-05T00:00:00.000Z', 2],
    ]);
    expect(series('day')).toEqual([
      ['2024-01-31T00:00:00.000Z', 1],
      ['2024-02-01T00:00:00.000Z', 1],
      ['2024-02-04T00:00:00.000Z', 1],
      ['2024-02-05T00:00:00.000Z', 2],
    ]);
    // Sunday's last millisecond still belongs to the week that began on Monday the 29th.
    expect(series('week')).toEqual([
      ['2024-01-29T00:00:00.000Z', 3],
      ['2024-02-05T00:00:00.000Z', 2],
    ]);
    expect(series('month')).toEqual([
      ['2024-01-01T00:00:00.000Z', 1],
      ['2024-02-01T00:00:00.000Z', 4],
    ]);
    const [week] = sentimentStats(app, { owner, bucket: 'week' }).series;
    expect(week).toMatchObject({ positive: 1, negative: 1, neutral: 1 });
  });

  it('filters by source and conversation', () => {
    expect(sentimentStats(app, { owner, bucket: 'day', source: 'chat' })).toMatchObject({ total: 1, positive: 1 });
    expect(sentimentStats(app, { owner, bucket: 'day', source: 'query' })).toMatchObject({ total: 4, positive: 2 });
    expect(series('hour', { conversationId })).toEqual([['2024-02-05T00:00:00.000Z', 1]]);
    expect(sentimentStats(app, { owner: 'other-key', bucket: 'day', conversationId }).total).toBe(0);
  });

  it('treats from as inclusive and to as exclusive, also inside partial hours', () => {
    const range = (from: string, to: string) =>
      sentimentStats(app, { owner, bucket: 'hour', from: at(from), to: at(to) }).total;
    expect(range('2024-02-01T00:00:00Z', '2024-02-05T00:00:00Z')).toBe(2);
    expect(range('2024-02-01T00:10:00Z', '2024-02-05T00:00:00.001Z')).toBe(3);
    // Both edges fall mid-hour: whole hours come from the roll-up, the edges from the rows themselves.
    expect(range('2024-01-31T23:45:00Z', '2024-02-05T00:30:00Z')).toBe(3);
    expect(range('2024-02-05T00:00:00Z', '2024-02-05T00:30:00Z')).toBe(1);
    expect(range('2024-02-05T00:30:00Z', '2024-02-05T00:00:00Z')).toBe(0);
    expect(sentimentStats(app, { owner, bucket: 'day', from: at('2024-02-05T00:00:00Z') }).total).toBe(2);
    expect(sentimentStats(app, { owner, bucket: 'day', to: at('2024-02-01T00:10:00Z') }).total).toBe(1);
  });

  it('counts exactly the rows inside arbitrary ranges, whatever hours their edges cut through', () => {
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
      insertQuerySentiments(
        app,
        times
          .slice(i, i + 32)
          .map((t) => ({ ...classified('neutral'), owner: randomOwner, text: 'x', createdAt: new Date(t) })),
      );
    }
    for (let trial = 0; trial < 40; trial += 1) {
      const from = start + Math.floor(random() * span);
      const to = from + Math.floor(random() * span * 0.5);
      const expected = times.filter((t) => t >= from && t < to).length;
      const stats = sentimentStats(app, { owner: randomOwner, bucket: 'hour', from: new Date(from), to: new Date(to) });
      expect(stats.total).toBe(expected);
      expect(stats.series.reduce((sum, point) => sum + point.total, 0)).toBe(expected);
    }
  });

  it('gives the same answer after rebuilding the hourly roll-up from the rows', () => {
    const before = sentimentStats(app, { owner, bucket: 'hour' });
    rebuildHourlyCounts(app);
    expect(sentimentStats(app, { owner, bucket: 'hour' })).toEqual({
      ...before,
      // Summing per hour first may round differently in the last bits.
      averageConfidence: expect.closeTo(before.averageConfidence, 10),
    });
  });
});
