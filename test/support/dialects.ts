// Both databases for the dialect suites: a real SQLite file, or a fresh database on the run's real PostgreSQL.
import path from 'node:path';
import { inject } from 'vitest';
import { SqliteRepository, type Repository } from '../../src/db/index.js';
import { PostgresRepository } from '../../src/db/postgres/index.js';
import { createTestDatabase } from './postgresServer.js';

export type Dialect = Repository['dialect'];

/** The dialects this run can test: PostgreSQL whenever the run has a server (always in CI). */
export function testDialects(): Dialect[] {
  return inject('postgresAdminUrl') ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestDatabase {
  dialect: Dialect;
  /** For SQLite the file's path; for PostgreSQL the database's URL. */
  location: string;
  open(): Promise<Repository>;
  /** Rows of a raw query written with `?` placeholders (turned into $1, $2… for PostgreSQL: pass texts as parameters). */
  rows<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T[]>;
  /** Closes what `open` and `rows` opened and removes the database. */
  dispose(): Promise<void>;
}

/** A new, empty database of `dialect`; SQLite files go into `dir`. */
export async function createDatabase(dialect: Dialect, dir: string, name = 'test'): Promise<TestDatabase> {
  const opened: Repository[] = [];
  const track = <R extends Repository>(repository: R): R => (opened.push(repository), repository);
  if (dialect === 'sqlite') {
    const file = path.join(dir, `${name}-${opened.length}-${Date.now()}.db`);
    let reader: SqliteRepository | undefined;
    return {
      dialect,
      location: file,
      open: async () => track(SqliteRepository.open({ path: file })),
      rows: async (query, ...params) => {
        reader ??= track(SqliteRepository.open({ path: file }));
        return reader.database.sqlite.prepare(query).all(...params) as never[];
      },
      dispose: async () => {
        await Promise.all(opened.map((repository) => repository.close()));
      },
    };
  }
  const database = await createTestDatabase(inject('postgresAdminUrl'));
  let reader: PostgresRepository | undefined;
  return {
    dialect,
    location: database.url,
    open: async () => track(await PostgresRepository.open({ url: database.url })),
    rows: async (query, ...params) => {
      reader ??= track(await PostgresRepository.open({ url: database.url }));
      let index = 0;
      const numbered = query.replace(/\?/g, () => `$${++index}`);
      return (await reader.database.pool.query(numbered, params)).rows as never[];
    },
    dispose: async () => {
      await Promise.all(opened.map((repository) => repository.close()));
      await database.drop();
    },
  };
}
