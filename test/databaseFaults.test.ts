// Database faults on real SQLite files: a lock held elsewhere, a full disk, files removed. Nothing acknowledged is lost.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/index.js';
import {
  createScratchDir,
  createTestService,
  loadTestEngine,
  type GraphQLBody,
  type SqliteTestService,
} from './support/testApp.js';

const scratch = createScratchDir('aio-db-faults-');
let engine: Engine;
const leftovers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  engine = await loadTestEngine();
});

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  await engine.dispose();
  scratch.remove();
});

function serviceAt(databasePath: string, env: Record<string, string> = {}): SqliteTestService {
  const service = createTestService(databasePath, engine, env);
  leftovers.push(() => service.database.close());
  return service;
}

function errorOf(body: GraphQLBody) {
  return body.errors?.[0] as { message: string; extensions?: { code?: string; retryable?: boolean } } | undefined;
}

const SENTIMENT = 'query ($text: String!) { sentiment(text: $text, locale: EN) { id } }';
const CHAT =
  'mutation ($message: String!) { chat(input: { message: $message, maxTokens: 2 }) { conversation { id } userMessage { id } reply { id } } }';

describe('a database locked by another process', () => {
  it('answers DATABASE_UNAVAILABLE (retryable, no file path), and serves again once the lock is gone', async () => {
    const databasePath = path.join(scratch.dir, 'locked.db');
    const service = serviceAt(databasePath, { DATABASE_BUSY_TIMEOUT_MS: '100' });
    const other = new Database(databasePath);
    leftovers.push(() => void other.close());
    other.exec('BEGIN IMMEDIATE');
    for (const body of [
      await service.graphql(SENTIMENT, { text: 'locked out' }),
      await service.graphql(CHAT, { message: 'locked out' }),
    ]) {
      const error = errorOf(body);
      expect(error?.extensions).toEqual({ code: 'DATABASE_UNAVAILABLE', retryable: true });
      expect(error?.message).toMatch(/try again shortly/);
      expect(error?.message).not.toContain(scratch.dir);
    }
    other.exec('ROLLBACK');
    expect((await service.graphql(SENTIMENT, { text: 'free again' })).data?.sentiment.id).toMatch(/^[0-9A-Z]{26}$/);
    // The refused chat left nothing half-written: no conversation without its message.
    expect(service.database.sqlite.prepare('select count(*) as n from conversations').get()).toEqual({ n: 0 });
  });
});

describe('/readyz after writes failed', () => {
  it('answers 503 with the reason while writes fail (locked, read-only), and 200 once a write succeeds', async () => {
    const databasePath = path.join(scratch.dir, 'unready.db');
    const service = serviceAt(databasePath, { DATABASE_BUSY_TIMEOUT_MS: '100' });
    const { port } = await service.app.start(0, '127.0.0.1');
    leftovers.push(() => service.app.stop());
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: response.status, body: await response.json() };
    };
    const unready = (reason: string) => ({
      status: 503,
      body: { status: 'not ready', reason: `the database cannot be written: ${reason}` },
    });
    expect((await readyz()).status).toBe(200);

    // Another connection's open write transaction: every write of the service fails after its busy timeout.
    const other = new Database(databasePath);
    leftovers.push(() => void other.close());
    other.exec('BEGIN EXCLUSIVE');
    expect(errorOf(await service.graphql(SENTIMENT, { text: 'locked out' }))?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
    expect(await readyz()).toEqual(unready('it is locked by another connection'));
    // The probe's own write fails too while the lock is held.
    expect(await readyz()).toEqual(unready('it is locked by another connection'));
    other.exec('ROLLBACK');
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });

    // SQLite's own read-only switch on the service's connection: writes fail with SQLITE_READONLY.
    service.database.sqlite.pragma('query_only = ON');
    expect(errorOf(await service.graphql(SENTIMENT, { text: 'read-only' }))?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
    expect(await readyz()).toEqual(unready('it is read-only'));
    service.database.sqlite.pragma('query_only = OFF');
    // A client's write succeeding clears it as well as the probe's.
    expect(errorOf(await service.graphql(SENTIMENT, { text: 'writable again' }))).toBeUndefined();
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });
  });
});

/**
 * A small disk: a 2 MB tmpfs where this machine lets the test mount one (root in CI), otherwise SQLite's own
 * page limit (`max_page_count`), which fails writes with the same SQLITE_FULL. `fill` leaves little room, `free`
 * gives it back.
 */
function smallDisk(dir: string): {
  mounted: boolean;
  fill(service: SqliteTestService): void;
  free(service: SqliteTestService): void;
} {
  mkdirSync(dir, { recursive: true });
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    mounted = true;
    leftovers.push(() => void execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  } catch {
    // Not permitted here: fall back to the page limit below.
  }
  const filler = path.join(dir, 'filler.bin');
  const pageLimit = (service: SqliteTestService, pages: number) =>
    service.database.sqlite.pragma(`max_page_count = ${pages}`);
  return {
    mounted,
    fill(service) {
      if (!mounted)
        return void pageLimit(service, (service.database.sqlite.pragma('page_count', { simple: true }) as number) + 24);
      const { bavail, bsize } = statfsSync(dir);
      writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 160 * 1024)));
    },
    free(service) {
      if (!mounted) return void pageLimit(service, 1_000_000);
      rmSync(filler, { force: true });
    },
  };
}

describe('a full disk', () => {
  it('never acknowledges a write it could not commit, keeps the file intact, and recovers once space returns', async () => {
    const dir = path.join(scratch.dir, 'small-disk');
    const disk = smallDisk(dir);
    const databasePath = path.join(dir, 'full.db');
    const service = serviceAt(databasePath);
    disk.fill(service);

    const acknowledged = {
      sentiments: [] as string[],
      chats: [] as { conversation: string; user: string; reply: string }[],
    };
    const codes = new Map<string, number>();
    let refused = 0;
    const text = (index: number) => `${index} `.padEnd(1500, 'the quick brown fox jumps over the lazy dog ');
    for (let attempt = 0; attempt < 400 && refused < 6; attempt += 1) {
      const body =
        attempt % 3 === 2
          ? await service.graphql(CHAT, { message: text(attempt) })
          : await service.graphql(SENTIMENT, { text: text(attempt) });
      const error = errorOf(body);
      if (error) {
        refused += 1;
        const code = error.extensions?.code ?? 'none';
        codes.set(code, (codes.get(code) ?? 0) + 1);
      } else if (body.data?.sentiment) acknowledged.sentiments.push(body.data.sentiment.id);
      else if (body.data?.chat) {
        const { conversation, userMessage, reply } = body.data.chat;
        acknowledged.chats.push({ conversation: conversation.id, user: userMessage.id, reply: reply.id });
      }
    }
    // The disk did fill, and every refusal said so with the documented code (never NOT_FOUND, never masked).
    expect([...codes.keys()]).toEqual(['DATABASE_UNAVAILABLE']);
    expect(refused).toBeGreaterThanOrEqual(6);
    expect(acknowledged.sentiments.length).toBeGreaterThan(0);

    disk.free(service);
    const after = await service.graphql(CHAT, { message: 'room again' });
    expect(errorOf(after)).toBeUndefined();
    acknowledged.chats.push({
      conversation: after.data!.chat.conversation.id,
      user: after.data!.chat.userMessage.id,
      reply: after.data!.chat.reply.id,
    });
    service.database.close();

    // A fresh connection, as after a restart: the file is intact and holds everything that was acknowledged.
    const reopened = new Database(databasePath, { readonly: true });
    leftovers.push(() => void reopened.close());
    expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok');
    const has = (table: string, id: string) => reopened.prepare(`select 1 from ${table} where id = ?`).get(id) !== undefined;
    expect(acknowledged.sentiments.filter((id) => !has('task_results', id))).toEqual([]);
    expect(
      acknowledged.chats.filter(
        (chat) => !has('conversations', chat.conversation) || !has('messages', chat.user) || !has('messages', chat.reply),
      ),
    ).toEqual([]);
  });
});

describe('database files removed while the service runs', () => {
  it('turns /readyz to 503 and refuses writes instead of writing into unlinked files', async () => {
    const databasePath = path.join(scratch.dir, 'removed.db');
    const service = serviceAt(databasePath);
    const { port } = await service.app.start(0, '127.0.0.1');
    leftovers.push(() => service.app.stop());
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: response.status, body: await response.json() };
    };
    expect((await readyz()).status).toBe(200);
    expect(errorOf(await service.graphql(SENTIMENT, { text: 'before' }))).toBeUndefined();

    for (const suffix of ['', '-wal', '-shm']) unlinkSync(`${databasePath}${suffix}`);
    expect(await readyz()).toEqual({
      status: 503,
      body: {
        status: 'not ready',
        reason: 'the database cannot be written: the database file was removed while the service was running',
      },
    });
    const error = errorOf(await service.graphql(SENTIMENT, { text: 'after' }));
    expect(error?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
  });
});
