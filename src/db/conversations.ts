// Conversations: create, read, list newest first a page at a time, and delete, always scoped by owner.
import { and, desc, eq, lt } from 'drizzle-orm';
import type { AppDatabase } from './client.js';
import { newId } from './ids.js';
import { ownedBy } from './owner.js';
import { conversations } from './schema.js';

export type ConversationRow = typeof conversations.$inferSelect;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface CreateConversationInput {
  /** API-key fingerprint, or null when auth is off. */
  owner: string | null;
  title?: string | null;
}

export interface ListConversationsOptions {
  owner: string | null;
  /** Page size, clamped to 0..MAX_PAGE_SIZE; defaults to DEFAULT_PAGE_SIZE. */
  first?: number;
  /** The previous page's endCursor. */
  after?: string | null;
}

export interface ConversationPage {
  items: ConversationRow[];
  hasNextPage: boolean;
  /** The last item's id (ULIDs are unguessable, so it is safe to hand out), or null for an empty page. */
  endCursor: string | null;
}

export function createConversation(app: AppDatabase, input: CreateConversationInput): ConversationRow {
  const now = new Date();
  return app.write((tx) =>
    tx
      .insert(conversations)
      .values({
        id: newId(now.getTime()),
        owner: input.owner,
        title: input.title ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning()
      .get(),
  );
}

/** The conversation if it exists and belongs to `owner`; otherwise null (the caller decides what that means). */
export function getConversation(app: AppDatabase, id: string, owner: string | null): ConversationRow | null {
  return app.read(
    (db) =>
      db
        .select()
        .from(conversations)
        .where(and(eq(conversations.id, id), ownedBy(conversations.owner, owner)))
        .get() ?? null,
  );
}

/** Newest first. Ids are ULIDs made at creation, so id order is creation order and the id is the cursor. */
export function listConversations(app: AppDatabase, options: ListConversationsOptions): ConversationPage {
  const pageSize = Math.max(0, Math.min(Math.trunc(options.first ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE));
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

/**
 * Deletes the conversation if it belongs to `owner`; its messages go with it (ON DELETE CASCADE) while its
 * sentiments stay for analytics, detached from it (ON DELETE SET NULL). Returns whether anything was deleted.
 */
export function deleteConversation(app: AppDatabase, id: string, owner: string | null): boolean {
  const result = app.write((tx) =>
    tx
      .delete(conversations)
      .where(and(eq(conversations.id, id), ownedBy(conversations.owner, owner)))
      .run(),
  );
  return result.changes > 0;
}
