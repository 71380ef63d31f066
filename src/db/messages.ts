// Messages of a conversation: the user turn (with its sentiment) and the assistant reply, each written whole.
import { asc, eq, sql } from 'drizzle-orm';
import type { AppDatabase, DbExecutor } from './client.js';
import { newId } from './ids.js';
import { conversations, messages, sentiments } from './schema.js';
import { writeSentiment, type NewSentiment, type SentimentRow } from './sentiments.js';
import { writeTaskResult, type NewTaskResult, type TaskResultRow } from './taskResults.js';

export type MessageRow = typeof messages.$inferSelect;
export type MessageStatus = MessageRow['status'];
export type FinishReason = NonNullable<MessageRow['finishReason']>;

export interface MessageWithSentiment extends MessageRow {
  sentiment: SentimentRow | null;
}

export interface UserTurnInput {
  conversationId: string;
  content: string;
  /** The sentiment of `content`, made before this call (absent when CHAT_TASKS leaves sentiment out). */
  sentiment?: NewSentiment;
  /** The other chat tasks' results on `content`, stored with it. */
  taskResults?: readonly NewTaskResult[];
  /** Defaults to now. */
  createdAt?: Date;
}

export interface UserTurn {
  message: MessageRow;
  sentiment: SentimentRow | null;
  taskResults: TaskResultRow[];
}

export interface AssistantReplyInput {
  conversationId: string;
  /** The whole reply, or the partial text when aborted or failed. */
  content: string;
  status: MessageStatus;
  finishReason: FinishReason | null;
  tokenCount: number | null;
  latencyMs: number | null;
  /** Defaults to now. */
  createdAt?: Date;
}

/**
 * Messages oldest first, each with its sentiment (assistant messages have none). Not owner-scoped: the
 * caller reaches it through a conversation it already fetched with getConversation.
 */
export function listMessages(app: AppDatabase, conversationId: string): MessageWithSentiment[] {
  return app
    .read((db) =>
      db
        .select({ message: messages, sentiment: sentiments })
        .from(messages)
        .leftJoin(sentiments, eq(sentiments.messageId, messages.id))
        .where(eq(messages.conversationId, conversationId))
        .orderBy(asc(messages.createdAt), asc(messages.id))
        .all(),
    )
    .map(({ message, sentiment }) => ({ ...message, sentiment }));
}

/**
 * Stores the user's message and its CHAT sentiment in one transaction (before generation starts), and bumps
 * the conversation's updatedAt. Returns null if the conversation no longer exists.
 */
export function insertUserTurn(app: AppDatabase, input: UserTurnInput): UserTurn | null {
  const createdAt = input.createdAt ?? new Date();
  return app.write((tx) => {
    const conversation = touchConversation(tx, input.conversationId, createdAt);
    if (conversation === undefined) return null;
    const message = tx
      .insert(messages)
      .values({
        id: newId(createdAt.getTime()),
        conversationId: input.conversationId,
        role: 'user',
        content: input.content,
        status: 'complete',
        createdAt,
      })
      .returning()
      .get();
    const context = {
      source: 'chat' as const,
      owner: conversation.owner,
      conversationId: input.conversationId,
      messageId: message.id,
      text: null,
      createdAt,
    };
    const sentiment = input.sentiment ? writeSentiment(tx, input.sentiment, context) : null;
    const taskResults = (input.taskResults ?? []).map((result) => writeTaskResult(tx, result, context));
    return { message, sentiment, taskResults };
  });
}

/**
 * Stores the assistant's reply once generation has ended (complete, aborted or failed) and bumps the
 * conversation's updatedAt. Returns null if the conversation was deleted while the reply was generated.
 */
export function insertAssistantReply(app: AppDatabase, input: AssistantReplyInput): MessageRow | null {
  const createdAt = input.createdAt ?? new Date();
  return app.write((tx) => {
    if (touchConversation(tx, input.conversationId, createdAt) === undefined) return null;
    return tx
      .insert(messages)
      .values({
        id: newId(createdAt.getTime()),
        conversationId: input.conversationId,
        role: 'assistant',
        content: input.content,
        status: input.status,
        finishReason: input.finishReason,
        tokenCount: input.tokenCount,
        latencyMs: input.latencyMs,
        createdAt,
      })
      .returning()
      .get();
  });
}

// Existence check, owner lookup and updatedAt bump in one statement; max() keeps a back-dated write from
// moving updatedAt backwards.
function touchConversation(tx: DbExecutor, conversationId: string, at: Date): { owner: string | null } | undefined {
  return tx
    .update(conversations)
    .set({ updatedAt: sql`max(${conversations.updatedAt}, ${at.getTime()})` })
    .where(eq(conversations.id, conversationId))
    .returning({ owner: conversations.owner })
    .get();
}
