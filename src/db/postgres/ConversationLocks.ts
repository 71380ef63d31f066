// Per-conversation advisory locks across replicas: one shared session takes uncontended locks without waiting; a
// contended one waits on a connection of its own, which then holds it for the turn.
import pg from 'pg';
import { DatabaseUnavailableError } from '../errors.js';
import type { ConversationLock } from '../Repository.js';
import { toPostgresError } from './errors.js';

// The two-key form of advisory locks lives apart from the one-key form the migrations use. hashtext() folds an id to
// 32 bits: a collision only makes two conversations take turns, never lets two turns of one run together.
const LOCK_NAMESPACE = 0x41_49_4f_43; // "AIOC"
const TRY_LOCK = 'select pg_try_advisory_lock($1, hashtext($2)) as locked';
const LOCK = 'select pg_advisory_lock($1, hashtext($2))';
const UNLOCK = 'select pg_advisory_unlock($1, hashtext($2))';

interface Session {
  client: pg.Client;
  /** Aborted when the connection drops: every lock it held is gone with it. */
  gone: AbortController;
}

export class ConversationLocks {
  readonly #clientConfig: pg.ClientConfig;
  readonly #location: string;
  #shared: Promise<Session> | undefined;
  readonly #waiters = new Set<pg.Client>();
  #closed = false;

  constructor(clientConfig: pg.ClientConfig, location: string) {
    // Lock waits last as long as the other replica's turn: no statement timeout on these sessions.
    this.#clientConfig = { ...clientConfig, statement_timeout: 0 };
    this.#location = location;
  }

  async acquire(conversationId: string, signal: AbortSignal): Promise<ConversationLock> {
    if (signal.aborted) throw signal.reason;
    const shared = await this.#sharedSession();
    const result = await this.#mapped(shared.client.query<{ locked: boolean }>(TRY_LOCK, [LOCK_NAMESPACE, conversationId]));
    if (result.rows[0]?.locked) {
      return held(shared, async () => {
        await shared.client.query(UNLOCK, [LOCK_NAMESPACE, conversationId]);
      });
    }
    return this.#waitFor(conversationId, signal);
  }

  /** Closes every session; the server releases whatever locks they still held. */
  async close(): Promise<void> {
    this.#closed = true;
    const shared = this.#shared;
    this.#shared = undefined;
    const waiters = [...this.#waiters].map((client) => client.end());
    await Promise.allSettled([...waiters, shared?.then((session) => session.client.end())]);
  }

  // Another replica holds it: wait on a connection of our own, so the shared session never blocks.
  async #waitFor(conversationId: string, signal: AbortSignal): Promise<ConversationLock> {
    const session = await this.#connect();
    this.#waiters.add(session.client);
    const end = async (): Promise<void> => {
      this.#waiters.delete(session.client);
      await session.client.end().catch(() => {});
    };
    // Cancelling from a second connection stops the wait at once (ending this one would not, until the lock came).
    const onAbort = (): void => void cancelBackend(this.#clientConfig, session.client);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await session.client.query(LOCK, [LOCK_NAMESPACE, conversationId]);
    } catch (error) {
      await end();
      throw signal.aborted ? signal.reason : this.#mapError(error);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) {
      await end();
      throw signal.reason;
    }
    // Ending the session releases its lock; no unlock round trip needed.
    return held(session, end);
  }

  #sharedSession(): Promise<Session> {
    if (this.#closed) return Promise.reject(new DatabaseUnavailableError({ message: 'The database is closed' }));
    const current = (this.#shared ??= this.#connect().then((session) => {
      session.gone.signal.addEventListener('abort', () => {
        if (this.#shared === current) this.#shared = undefined;
      });
      return session;
    }));
    // A failed connect is not kept: the next turn tries again.
    current.catch(() => {
      if (this.#shared === current) this.#shared = undefined;
    });
    return current;
  }

  async #connect(): Promise<Session> {
    const client = new pg.Client(this.#clientConfig);
    const gone = new AbortController();
    const lose = (): void => {
      if (!gone.signal.aborted) {
        gone.abort(new DatabaseUnavailableError({ message: `Lost the connection to PostgreSQL at ${this.#location}` }));
      }
    };
    client.on('error', lose);
    client.on('end', lose);
    await this.#mapped(client.connect());
    return { client, gone };
  }

  async #mapped<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.#mapError(error);
    }
  }

  #mapError(error: unknown): unknown {
    return toPostgresError(error, this.#location) ?? error;
  }
}

/** A lock held through `session`; releasing twice does nothing, and a lost connection has released it already. */
function held(session: Session, unlock: () => Promise<void>): ConversationLock {
  let released: Promise<void> | undefined;
  return { lost: session.gone.signal, release: () => (released ??= unlock().catch(() => {})) };
}

async function cancelBackend(config: pg.ClientConfig, waiting: pg.Client): Promise<void> {
  const processId = (waiting as pg.Client & { processID?: number }).processID;
  const canceller = new pg.Client(config);
  canceller.on('error', () => {});
  try {
    await canceller.connect();
    if (processId !== undefined) await canceller.query('select pg_cancel_backend($1)', [processId]);
  } catch {
    // Then the wait ends when the lock comes or the connection closes; the turn has already given up.
  } finally {
    await canceller.end().catch(() => {});
  }
}
