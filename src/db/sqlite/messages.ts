// SQLite: the messages of a conversation, the user turn (with its results) and the assistant reply, each written whole.
import { asc, eq, sql } from 'drizzle-orm';
import type { AssistantReplyInput, MessageResultsInput, UserTurn, UserTurnInput } from '../Repository.js';
import type { ConversationRow, MessageRow, TaskResultRow } from '../rows.js';
import { assistantMessageValues, chatContext, conversationValues, userMessageValues } from '../rowValues.js';
import type { DbExecutor, SqliteDatabase } from './openSqlite.js';
import { writeTaskResults } from './results.js';
import { conversations, messages } from './schema.js';

export function listMessages(app: SqliteDatabase, conversationId: string): MessageRow[] {
  return app.read((db) =>
    db
      .select()
      .from(messages)
      .where(eq(messages.conversationId, conversationId))
      .orderBy(asc(messages.createdAt), asc(messages.id))
      .all(),
  );
}

/** The message and its CHAT results in one transaction (before generation starts); bumps updatedAt. */
export function insertUserTurn(app: SqliteDatabase, input: UserTurnInput): UserTurn | null {
  const createdAt = input.createdAt ?? new Date();
  return app.write((tx) => {
    if (input.newConversation) {
      tx.insert(conversations).values(conversationValues(input.newConversation, createdAt, input.conversationId)).run();
    }
    const conversation = touchConversation(tx, input.conversationId, createdAt);
    if (conversation === undefined) return null;
    const values = userMessageValues(input.conversationId, input.content, createdAt);
    const message = tx.insert(messages).values(values).returning().get();
    const context = chatContext(conversation, input.conversationId, message.id, createdAt);
    const taskResults = writeTaskResults(app, tx, input.taskResults ?? [], context);
    return { conversation, message, taskResults };
  });
}

export function insertMessageResults(app: SqliteDatabase, input: MessageResultsInput): TaskResultRow[] | null {
  return app.write((tx) => {
    const [found] = tx
      .select({ message: messages, owner: conversations.owner })
      .from(messages)
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .where(eq(messages.id, input.messageId))
      .all();
    if (found === undefined) return null;
    const { message, owner } = found;
    const context = chatContext({ owner }, message.conversationId, message.id, message.createdAt);
    return writeTaskResults(app, tx, input.taskResults, context);
  });
}

export function insertAssistantReply(app: SqliteDatabase, input: AssistantReplyInput): MessageRow | null {
  const createdAt = input.createdAt ?? new Date();
  return app.write((tx) => {
    if (touchConversation(tx, input.conversationId, createdAt) === undefined) return null;
    return tx.insert(messages).values(assistantMessageValues(input, createdAt)).returning().get();
  });
}

// Existence check, owner lookup and updatedAt bump in one statement; max() keeps a back-dated write from
// moving updatedAt backwards.
function touchConversation(tx: DbExecutor, conversationId: string, at: Date): ConversationRow | undefined {
  return tx
    .update(conversations)
    .set({ updatedAt: sql`max(${conversations.updatedAt}, ${at.getTime()})` })
    .where(eq(conversations.id, conversationId))
    .returning()
    .get();
}
