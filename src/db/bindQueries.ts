// Turns one dialect's query functions (each taking its connection first, sync or async) into the Repository's methods.
import type { Repository } from './Repository.js';

/** The Repository methods every dialect implements as plain query functions. */
export type QueryMethods = Omit<Repository, 'dialect' | 'location' | 'lockConversation' | 'problem' | 'close'>;

/** One dialect's query functions over its connection `D`; SQLite's return values, PostgreSQL's promises. */
export type DialectQueries<D> = {
  [K in keyof QueryMethods]: (
    database: D,
    ...args: Parameters<QueryMethods[K]>
  ) => Awaited<ReturnType<QueryMethods[K]>> | ReturnType<QueryMethods[K]>;
};

/** Each query bound to `database`, as an async method: a synchronous driver error becomes a rejection too. */
export function bindQueries<D>(database: D, queries: DialectQueries<D>): QueryMethods {
  const bound = {} as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, query] of Object.entries(queries) as [string, (database: D, ...args: unknown[]) => unknown][]) {
    bound[name] = async (...args) => query(database, ...args);
  }
  return bound as unknown as QueryMethods;
}
