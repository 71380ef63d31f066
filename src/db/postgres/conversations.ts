// PostgreSQL: conversations created, read, listed newest first a page at a time, and deleted, scoped by owner.
import { and, desc, eq, lt } from 'drizzle-orm';
import { ownedBy } from '../owner.js';
import type { ConversationPage, CreateConversationInput, ListConversationsOptions } from '../Repository.js';
import type { ConversationRow } from '../rows.js';
import { conversationValues, pageSizeOf } from '../rowValues.js';
import type { PostgresDatabase } from './openPostgres.js';
import { conversations } from './schema.js';

export async function createConversation(pg: PostgresDatabase, input: CreateConversationInput): Promise<ConversationRow> {
  const values = conversationValues(input, new Date());
  const [row] = await pg.write((tx) => tx.insert(conversations).values(values).returning());
  return row!;
}

export async function getConversation(
  pg: PostgresDatabase,
  id: string,
  owner: string | null,
): Promise<ConversationRow | null> {
  const [row] = await pg.db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, id), ownedBy(conversations.owner, owner)))
    .catch(throwMapped(pg));
  return row ?? null;
}

export async function listConversations(pg: PostgresDatabase, options: ListConversationsOptions): Promise<ConversationPage> {
  const pageSize = pageSizeOf(options.first);
  const after = options.after ?? null;
  const rows = await pg.db
    .select()
    .from(conversations)
    .where(and(ownedBy(conversations.owner, options.owner), after === null ? undefined : lt(conversations.id, after)))
    .orderBy(desc(conversations.id))
    .limit(pageSize + 1)
    .catch(throwMapped(pg));
  const items = rows.slice(0, pageSize);
  return { items, hasNextPage: rows.length > pageSize, endCursor: items.at(-1)?.id ?? null };
}

export async function deleteConversation(pg: PostgresDatabase, id: string, owner: string | null): Promise<boolean> {
  const deleted = await pg.write((tx) =>
    tx
      .delete(conversations)
      .where(and(eq(conversations.id, id), ownedBy(conversations.owner, owner)))
      .returning({ id: conversations.id }),
  );
  return deleted.length > 0;
}

/** For a single statement outside a transaction: its driver fault rethrown as DatabaseError. */
export function throwMapped(pg: PostgresDatabase): (error: unknown) => never {
  return (error) => {
    throw pg.mapError(error);
  };
}
