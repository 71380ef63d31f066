// PostgreSQL: the messages of a conversation, the user turn (with its results) and the reply, each written whole.
import { asc, eq, sql } from 'drizzle-orm';
import type { AssistantReplyInput, MessageResultsInput, UserTurn, UserTurnInput } from '../Repository.js';
import type { ConversationRow, MessageRow, TaskResultRow } from '../rows.js';
import { assistantMessageValues, chatContext, conversationValues, userMessageValues } from '../rowValues.js';
import { throwMapped } from './conversations.js';
import type { PgExecutor, PostgresDatabase } from './openPostgres.js';
import { writeTaskResults } from './results.js';
import { conversations, messages } from './schema.js';

export async function listMessages(pg: PostgresDatabase, conversationId: string): Promise<MessageRow[]> {
  return pg.db
    .select()
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(asc(messages.createdAt), asc(messages.id))
    .catch(throwMapped(pg));
}

export async function insertUserTurn(pg: PostgresDatabase, input: UserTurnInput): Promise<UserTurn | null> {
  const createdAt = input.createdAt ?? new Date();
  return pg.write(async (tx) => {
    if (input.newConversation) {
      await tx.insert(conversations).values(conversationValues(input.newConversation, createdAt, input.conversationId));
    }
    const conversation = await touchConversation(tx, input.conversationId, createdAt);
    if (conversation === undefined) return null;
    const values = userMessageValues(input.conversationId, input.content, createdAt);
    const [message] = await tx.insert(messages).values(values).returning();
    const context = chatContext(conversation, input.conversationId, message!.id, createdAt);
    const taskResults = await writeTaskResults(tx, input.taskResults ?? [], context);
    return { conversation, message: message!, taskResults };
  });
}

export async function insertMessageResults(
  pg: PostgresDatabase,
  input: MessageResultsInput,
): Promise<TaskResultRow[] | null> {
  return pg.write(async (tx) => {
    // Locks the message and its conversation until commit, so a concurrent delete waits instead of orphaning results.
    const [found] = await tx
      .select({ message: messages, owner: conversations.owner })
      .from(messages)
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .where(eq(messages.id, input.messageId))
      .for('update');
    if (found === undefined) return null;
    const { message, owner } = found;
    const context = chatContext({ owner }, message.conversationId, message.id, message.createdAt);
    return writeTaskResults(tx, input.taskResults, context);
  });
}

export async function insertAssistantReply(pg: PostgresDatabase, input: AssistantReplyInput): Promise<MessageRow | null> {
  const createdAt = input.createdAt ?? new Date();
  return pg.write(async (tx) => {
    if ((await touchConversation(tx, input.conversationId, createdAt)) === undefined) return null;
    const [message] = await tx.insert(messages).values(assistantMessageValues(input, createdAt)).returning();
    return message!;
  });
}

// Existence check, owner lookup and updatedAt bump in one statement (which also row-locks the conversation until
// commit, so a concurrent delete waits); greatest() keeps a back-dated write from moving updatedAt backwards.
async function touchConversation(
  tx: PgExecutor,
  conversationId: string,
  at: Date,
): Promise<ConversationRow | undefined> {
  const [row] = await tx
    .update(conversations)
    .set({ updatedAt: sql`greatest(${conversations.updatedAt}, ${at.toISOString()}::timestamptz)` })
    .where(eq(conversations.id, conversationId))
    .returning();
  return row;
}
