// SQLite: conversations created, read, listed newest first a page at a time, and deleted, always scoped by owner.
import { and, desc, eq, lt } from 'drizzle-orm';
import { ownedBy } from '../owner.js';
import type { ConversationPage, CreateConversationInput, ListConversationsOptions } from '../Repository.js';
import type { ConversationRow } from '../rows.js';
import { conversationValues, pageSizeOf } from '../rowValues.js';
import type { SqliteDatabase } from './openSqlite.js';
import { conversations } from './schema.js';

export function createConversation(app: SqliteDatabase, input: CreateConversationInput): ConversationRow {
  const values = conversationValues(input, new Date());
  return app.write((tx) => tx.insert(conversations).values(values).returning().get());
}

export function getConversation(app: SqliteDatabase, id: string, owner: string | null): ConversationRow | null {
  return app.read(
    (db) =>
      db
        .select()
        .from(conversations)
        .where(and(eq(conversations.id, id), ownedBy(conversations.owner, owner)))
        .get() ?? null,
  );
}

export function listConversations(app: SqliteDatabase, options: ListConversationsOptions): ConversationPage {
  const pageSize = pageSizeOf(options.first);
  const after = options.after ?? null;
  // One extra row tells whether another page follows without a second COUNT query.
  const rows = app.read((db) =>
    db
      .select()
      .from(conversations)
      .where(and(ownedBy(conversations.owner, options.owner), after === null ? undefined : lt(conversations.id, after)))
      .orderBy(desc(conversations.id))
      .limit(pageSize + 1)
      .all(),
  );
  const items = rows.slice(0, pageSize);
  return { items, hasNextPage: rows.length > pageSize, endCursor: items.at(-1)?.id ?? null };
}

/** Messages go with it (ON DELETE CASCADE); its results stay for analytics, detached (ON DELETE SET NULL). */
export function deleteConversation(app: SqliteDatabase, id: string, owner: string | null): boolean {
  const result = app.write((tx) =>
    tx
      .delete(conversations)
      .where(and(eq(conversations.id, id), ownedBy(conversations.owner, owner)))
      .run(),
  );
  return result.changes > 0;
}
