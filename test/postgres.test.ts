// PostgreSQL itself, on the run's real server: what a wrong URL, a refused connection or a dropped one answers,
// replicas migrating at once, and the per-conversation lock that keeps turns in order across replicas.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DatabaseUnavailableError } from '../src/db/index.js';
import { PostgresRepository } from '../src/db/postgres/index.js';
import { createTestDatabase, freePort, withAdmin } from './support/postgresServer.js';

const adminUrl = inject('postgresAdminUrl');
const MIGRATION_FILES = readdirSync(fileURLToPath(new URL('../migrations/postgres', import.meta.url))).filter((name) =>
  name.endsWith('.sql'),
);

function withPart(url: string, change: (parsed: URL) => void): string {
  const parsed = new URL(url);
  change(parsed);
  return parsed.href;
}

const admin = <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => withAdmin(adminUrl, work);

/** Polls the server (not the clock) until `check` holds: PostgreSQL's own view of who waits for what. */
async function until(check: (client: pg.Client) => Promise<boolean>): Promise<void> {
  await admin(async (client) => {
    for (let attempt = 0; attempt < 500; attempt += 1) {
      if (await check(client)) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the server never reached the expected state');
  });
}

const advisoryWaiters = (client: pg.Client, database: string): Promise<number> =>
  client
    .query<{ n: number }>(
      `select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database
       where l.locktype = 'advisory' and not l.granted and d.datname = $1`,
      [database],
    )
    .then((result) => result.rows[0]?.n ?? 0);

describe.skipIf(!adminUrl)('PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let name = '';
  const opened: PostgresRepository[] = [];
  const open = async (url = database.url, applicationName?: string): Promise<PostgresRepository> => {
    const repository = await PostgresRepository.open({ url, ...(applicationName ? { applicationName } : {}) });
    opened.push(repository);
    return repository;
  };

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl, 'aio_pg');
    name = decodeURIComponent(new URL(database.url).pathname.slice(1));
  });
  afterAll(async () => {
    await Promise.all(opened.map((repository) => repository.close()));
    await database.drop();
  });

  describe('opening', () => {
    it('names the host, port and database of a refused connection in one line, and never the password', async () => {
      const port = await freePort();
      const url = withPart(database.url, (parsed) => (parsed.port = String(port)));
      const password = decodeURIComponent(new URL(url).password);
      const failure = await PostgresRepository.open({ url, connectTimeoutMs: 2_000 }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(DatabaseUnavailableError);
      const { message } = failure as Error;
      expect(message).toContain(`127.0.0.1:${port}/${name}`);
      expect(message).toMatch(/refused/);
      expect(message).not.toContain(password);
      expect(message.split('\n')).toHaveLength(1);
    });

    it('says that the password was refused, without showing it', async () => {
      const url = withPart(database.url, (parsed) => (parsed.password = 'not-the-password-42'));
      const failure = await PostgresRepository.open({ url }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(DatabaseUnavailableError);
      expect((failure as Error).message).toMatch(/password/);
      expect((failure as Error).message).toContain(name);
      expect((failure as Error).message).not.toContain('not-the-password-42');
    });

    it('says that a database does not exist', async () => {
      const url = withPart(database.url, (parsed) => (parsed.pathname = '/no_such_database_here'));
      await expect(PostgresRepository.open({ url })).rejects.toThrow(
        expect.objectContaining({
          code: 'DATABASE_UNAVAILABLE',
          message: expect.stringMatching(/no_such_database_here.*does not exist/),
        }),
      );
    });

    it('migrates once when several replicas start together', async () => {
      const fresh = await createTestDatabase(adminUrl, 'aio_race');
      try {
        const replicas = await Promise.all(Array.from({ length: 6 }, () => PostgresRepository.open({ url: fresh.url })));
        const applied = await replicas[0]!.database.pool.query<{ n: number }>(
          'select count(*)::int as n from drizzle.__drizzle_migrations',
        );
        expect(applied.rows[0]?.n).toBe(MIGRATION_FILES.length);
        // Every replica sees the same, complete schema.
        const conversation = await replicas[3]!.createConversation({ owner: null, title: 'raced' });
        expect((await replicas[5]!.getConversation(conversation.id, null))?.title).toBe('raced');
        await Promise.all(replicas.map((replica) => replica.close()));
      } finally {
        await fresh.drop();
      }
    });

    it('opens read-only only a migrated database', async () => {
      const fresh = await createTestDatabase(adminUrl, 'aio_ro');
      try {
        await expect(PostgresRepository.open({ url: fresh.url, readonly: true })).rejects.toThrow(
          expect.objectContaining({ code: 'DATABASE_MIGRATION_FAILED' }),
        );
        await (await PostgresRepository.open({ url: fresh.url })).close();
        const reader = await PostgresRepository.open({ url: fresh.url, readonly: true });
        expect((await reader.listConversations({ owner: null })).items).toEqual([]);
        await reader.close();
      } finally {
        await fresh.drop();
      }
    });
  });

  describe('a connection lost while in use', () => {
    it('answers DATABASE_UNAVAILABLE for the statement it cut, and the next one works on a new connection', async () => {
      const repository = await open(database.url, 'aio-terminated');
      await repository.createConversation({ owner: null, title: 'before' });
      // An exclusive lock from another session keeps the replica's insert waiting, so it is in flight for sure.
      const locker = new pg.Client({ connectionString: adminUrl.replace(/\/[^/]*$/, `/${name}`) });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('lock table conversations in access exclusive mode');
        const cut = repository.createConversation({ owner: null, title: 'cut' }).catch((error: unknown) => error);
        await until(async (client) => {
          const waiting = await client.query(
            `select 1 from pg_stat_activity where application_name = 'aio-terminated' and wait_event_type = 'Lock'`,
          );
          return waiting.rowCount === 1;
        });
        await admin((client) =>
          client.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'aio-terminated'`),
        );
        const failure = await cut;
        expect(failure).toBeInstanceOf(DatabaseUnavailableError);
        expect((failure as Error).message).toContain(name);
        await locker.query('rollback');
      } finally {
        await locker.end();
      }
      const after = await repository.createConversation({ owner: null, title: 'after' });
      expect((await repository.getConversation(after.id, null))?.title).toBe('after');
      expect(await repository.problem()).toBeUndefined();
    });
  });

  describe('writes refused by the server', () => {
    it('are reported by problem() (/readyz) while the probe write is refused too, and cleared by a write that works', async () => {
      await open();
      // Sessions whose transactions are read-only by default, as on a database switched to read-only.
      const readOnlyUrl = withPart(database.url, (url) =>
        url.searchParams.set('options', '-c default_transaction_read_only=on'),
      );
      const readOnly = await PostgresRepository.open({ url: readOnlyUrl, readonly: true });
      opened.push(readOnly);
      const record = {
        owner: null,
        text: 'kept out',
        taskResults: [
          {
            task: 'sentiment',
            kind: 'classify',
            locale: 'en',
            label: 'neutral',
            confidence: 0.5,
            scores: { positive: 0.25, negative: 0.25, neutral: 0.5 },
            latencyMs: 1,
          },
        ],
      } as const;
      expect(await readOnly.problem()).toBeUndefined();
      await expect(readOnly.insertQueryAnalyses([record])).rejects.toBeInstanceOf(DatabaseUnavailableError);
      expect(await readOnly.problem()).toBe('it is read-only');
      // The probe's own write is refused as well, so the answer holds.
      expect(await readOnly.problem()).toBe('it is read-only');
      // A write of the service that works (here one that asks for a read-write transaction) clears it.
      await readOnly.database.write(async (tx) => {
        await tx.execute('set transaction read write');
      });
      expect(await readOnly.problem()).toBeUndefined();
    });
  });

  describe('a saturated pool', () => {
    it('answers DATABASE_UNAVAILABLE once no connection frees up within DATABASE_CONNECT_TIMEOUT_MS, then serves again', async () => {
      const repository = await PostgresRepository.open({ url: database.url, poolSize: 1, connectTimeoutMs: 300 });
      opened.push(repository);
      // Something else holds the pool's only connection.
      const held = await repository.database.pool.connect();
      try {
        const failure = await repository.createConversation({ owner: null }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(DatabaseUnavailableError);
        expect((failure as Error).message).toContain(name);
      } finally {
        held.release();
      }
      expect((await repository.createConversation({ owner: null, title: 'freed' })).title).toBe('freed');
    });
  });

  describe('conversation locks across replicas', () => {
    it('lets one replica take a turn while the other waits, then hands the turn over', async () => {
      const [first, second] = [await open(), await open()];
      const conversation = await first.createConversation({ owner: null });
      const held = await first.lockConversation(conversation.id, new AbortController().signal);
      let secondHolds = false;
      const waiting = second.lockConversation(conversation.id, new AbortController().signal).then((lock) => {
        secondHolds = true;
        return lock;
      });
      await until(async (client) => (await advisoryWaiters(client, name)) === 1);
      expect(secondHolds).toBe(false);
      // A different conversation is not held up by it.
      const other = await first.createConversation({ owner: null });
      const otherLock = await second.lockConversation(other.id, new AbortController().signal);
      await otherLock.release();

      await held.release();
      const handedOver = await waiting;
      expect(secondHolds).toBe(true);
      expect(handedOver.lost.aborted).toBe(false);
      await handedOver.release();
      // Released twice is still released once.
      await handedOver.release();
      const again = await first.lockConversation(conversation.id, new AbortController().signal);
      await again.release();
    });

    it('stops waiting at once when the turn is given up', async () => {
      const [first, second] = [await open(), await open()];
      const conversation = await first.createConversation({ owner: null });
      const held = await first.lockConversation(conversation.id, new AbortController().signal);
      const giveUp = new AbortController();
      const waiting = second.lockConversation(conversation.id, giveUp.signal).catch((error: unknown) => error);
      await until(async (client) => (await advisoryWaiters(client, name)) === 1);
      giveUp.abort(new Error('client went away'));
      expect(await waiting).toMatchObject({ message: 'client went away' });
      await until(async (client) => (await advisoryWaiters(client, name)) === 0);
      await held.release();
    });

    it('tells the holder when its lock is lost with its connection, and frees the conversation for the others', async () => {
      const holder = await open(database.url, 'aio-lock-holder');
      const other = await open();
      const conversation = await holder.createConversation({ owner: null });
      const held = await holder.lockConversation(conversation.id, new AbortController().signal);
      const lost = new Promise<unknown>((resolve) =>
        held.lost.addEventListener('abort', () => resolve(held.lost.reason), { once: true }),
      );
      await admin((client) =>
        client.query(
          `select pg_terminate_backend(l.pid) from pg_locks l join pg_stat_activity a on a.pid = l.pid
           where l.locktype = 'advisory' and l.granted and a.application_name = 'aio-lock-holder'`,
        ),
      );
      expect(await lost).toBeInstanceOf(DatabaseUnavailableError);
      const taken = await other.lockConversation(conversation.id, new AbortController().signal);
      await taken.release();
      await held.release();
      // The holder's next turn gets a new session.
      const next = await holder.lockConversation(conversation.id, new AbortController().signal);
      expect(next.lost.aborted).toBe(false);
      await next.release();
    });
  });
});
