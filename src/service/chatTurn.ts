// One chat turn: classify, store the user message, generate and store the reply while its extractions run beside it.
import {
  newConversationId,
  type ConversationRow,
  type CreateConversationInput,
  type Repository,
} from '../db/index.js';
import {
  AbortedError,
  detectLocale,
  ModelUnavailableError,
  type ChatRequest,
  type ChatTurn,
  type Engine,
  type FinishReason,
  type JobOptions,
  type Locale,
  type TaskRun,
} from '../engine/index.js';
import type { ConversationEntry } from './ConversationTurns.js';
import { NotFoundError } from './errors.js';
import { assertId } from './ids.js';
import { keyOf } from './OperationScope.js';
import { toMessageView, type ConversationView, type MessageView, type TaskResultView } from './views.js';
import { titleOf } from './conversationTitle.js';
import { steeringOf, storedShapeOf } from './taskRuns.js';
import { startChatExtractions } from './chatExtractions.js';

export interface ChatTurnInput {
  conversationId?: string | null;
  message: string;
  locale?: Locale | null;
  maxTokens?: number | null;
  temperature?: number | null;
  seed?: number | null;
}

export type ChatTurnEvent =
  | { type: 'started'; conversation: ConversationView; userMessage: MessageView }
  | { type: 'token'; index: number; text: string }
  /** An extraction of the user message, stored with it; it may arrive before, between or after the tokens. */
  | { type: 'taskResults'; messageId: string; taskResults: TaskResultView[] };

export interface ChatTurnOutcome {
  conversation: ConversationView;
  userMessage: MessageView;
  reply: MessageView;
  finishReason: FinishReason;
}

export interface ChatTurnScope {
  owner: string | null;
  /** The engine's fairness key (the operation's); default: the owner. */
  key?: string;
  /** Aborting it (client gone, unsubscribed) stops generation; the partial reply is stored as ABORTED. */
  signal?: AbortSignal;
  onEvent?: (event: ChatTurnEvent) => void;
}

/** What the chat service adds to its caller's scope. */
export interface ChatTurnContext extends ChatTurnScope {
  /**
   * Tasks run on the message (CHAT_TASKS). Classify tasks run before the reply (their labels steer it); extract tasks
   * run beside it, and the turn ends when both have.
   */
  chatTasks: readonly string[];
  /**
   * Waits for this conversation's earlier turns to end, so a turn reads the history and writes its two messages
   * without another turn's in between (ConversationTurns). Without it, turns are not serialized.
   */
  enterConversation?: (conversationId: string) => Promise<ConversationEntry>;
}

export async function runChatTurn(
  engine: Engine,
  database: Repository,
  input: ChatTurnInput,
  scope: ChatTurnContext,
): Promise<ChatTurnOutcome> {
  // Without a locale, the message's script decides (Chinese → zh, else en); the stored results say which.
  const locale = input.locale ?? detectLocale(input.message);
  const options = {
    ...(input.maxTokens == null ? {} : { maxTokens: input.maxTokens }),
    ...(input.temperature == null ? {} : { temperature: input.temperature }),
    ...(input.seed == null ? {} : { seed: input.seed }),
  };
  let existing: ConversationRow | null = null;
  if (input.conversationId != null) {
    assertId(input.conversationId, 'conversationId');
    existing = await database.getConversation(input.conversationId, scope.owner);
    if (!existing) throw notFound(input.conversationId);
  }
  // Refuse a bad request before anything is stored.
  engine.checkChatRequest({ history: [], message: input.message, locale, ...options });
  // The owner is also the key the engine takes turns by, so one API key's flood cannot crowd out another's turn.
  const jobOptions = {
    ...(scope.signal ? { signal: scope.signal } : {}),
    ...keyOf(scope),
  };

  // CHAT_TASKS=none: no verdict before the reply and nothing beside it.
  const definitions = scope.chatTasks.length === 0 ? [] : engine.checkTasks(input.message, scope.chatTasks, { locale });
  const classify = definitions.filter((task) => task.kind === 'classify').map((task) => task.name);
  const extract = definitions.filter((task) => task.kind === 'extract').map((task) => task.name);
  // The classify tasks need no history, so they run (in one engine job) before this turn waits for the conversation.
  const analysis: TaskRun =
    classify.length > 0 ? await engine.runTasks(input.message, classify, { locale, ...jobOptions }) : { locale, results: [] };
  // A new conversation is created with its first message, in one transaction: a turn refused or failing before that
  // (waiting for the conversation, the database) leaves no empty conversation. Its id is entered first, so a second
  // turn sent as soon as ChatStarted names it still waits for this one.
  const conversationId = existing?.id ?? newConversationId();
  const newConversation = existing ? undefined : { owner: scope.owner, title: titleOf(input.message) };
  const entry = await scope.enterConversation?.(conversationId);
  try {
    return await generateTurn(engine, database, {
      input,
      scope,
      conversationId,
      ...(newConversation ? { newConversation } : {}),
      analysis,
      extract,
      locale,
      options,
      jobOptions,
    });
  } finally {
    await entry?.leave();
  }
}

interface TurnParts {
  input: ChatTurnInput;
  scope: ChatTurnContext;
  conversationId: string;
  /** Set when this turn starts the conversation: it is created with the user message. */
  newConversation?: CreateConversationInput;
  analysis: TaskRun;
  /** Extract tasks to run beside the reply. */
  extract: readonly string[];
  locale: Locale;
  options: Pick<ChatRequest, 'maxTokens' | 'temperature' | 'seed'>;
  jobOptions: JobOptions;
}

/** Stores the user message, streams the reply and stores it: the part of a turn that owns the conversation. */
async function generateTurn(engine: Engine, database: Repository, parts: TurnParts): Promise<ChatTurnOutcome> {
  const { input, scope, conversationId, analysis, extract, locale, options, jobOptions } = parts;
  // A turn stopped before its message is stored stores nothing (the page says so); checked as late as possible.
  if (scope.signal?.aborted) throw new AbortedError({ message: 'The turn was stopped before its message was stored.' });
  const turn = await database.insertUserTurn({
    conversationId,
    ...(parts.newConversation ? { newConversation: parts.newConversation } : {}),
    content: input.message,
    ...storedShapeOf(analysis),
  });
  if (!turn) throw notFound(conversationId);
  const conversation = turn.conversation;
  const stored = await database.listMessages(conversation.id);
  const userMessage = toMessageView(
    stored.find((message) => message.id === turn.message.id)!,
    turn.taskResults,
  );
  const history = stored.filter((message) => message.id !== turn.message.id).flatMap(toHistoryTurn);
  scope.onEvent?.({ type: 'started', conversation, userMessage });

  const stream = engine.chat(
    {
      history,
      message: input.message,
      locale,
      steer: steeringOf(analysis),
      conversationKey: conversation.id,
      ...options,
    },
    jobOptions,
  );
  const extraction = startChatExtractions(engine, database, {
    messageId: userMessage.id,
    text: input.message,
    tasks: extract,
    locale,
    jobOptions,
    onResults: (taskResults) => scope.onEvent?.({ type: 'taskResults', messageId: userMessage.id, taskResults }),
  });
  let partial = '';
  let index = 0;
  try {
    for await (const delta of stream) {
      partial += delta;
      scope.onEvent?.({ type: 'token', index: index++, text: delta });
    }
  } catch (error) {
    // Nothing is lost: the text produced so far is stored before the error reaches the client. A client leaving
    // while the job was queued, or a shutdown, stops the reply on purpose (ABORTED); anything else (a timeout, an
    // engine fault) is a failure. If even that cannot be stored (the database is down), the client hears the
    // original error, and nothing claims the reply was stored.
    const stoppedOnPurpose = error instanceof AbortedError || error instanceof ModelUnavailableError;
    let reply: unknown;
    try {
      reply = await database.insertAssistantReply({
        conversationId: conversation.id,
        content: partial,
        status: stoppedOnPurpose ? 'aborted' : 'failed',
        finishReason: stoppedOnPurpose ? 'aborted' : null,
        tokenCount: null,
        latencyMs: null,
      });
    } catch {
      reply = undefined;
    }
    // The reply ended early: so does an extraction still running (one that completed is stored already).
    extraction.stop(new AbortedError({ message: 'The reply ended early.', cause: error }));
    await extraction.settled;
    throw reply === null ? deletedDuringReply(conversation.id) : error;
  }
  const result = await stream.result;
  const reply = await database.insertAssistantReply({
    conversationId: conversation.id,
    content: result.text,
    status: result.finishReason === 'aborted' ? 'aborted' : 'complete',
    finishReason: result.finishReason,
    tokenCount: result.completionTokens,
    latencyMs: result.durationMs,
  });
  if (!reply) throw deletedDuringReply(conversation.id);
  // A stopped reply (finish reason ABORTED) stops the extraction too; one that completed is stored and kept.
  if (result.finishReason === 'aborted') extraction.stop(new AbortedError({ message: 'The reply was stopped.' }));
  const extracted = await extraction.settled;
  if (extracted.error !== undefined && !(extracted.error instanceof AbortedError)) throw extracted.error;
  return {
    conversation: (await database.getConversation(conversation.id, scope.owner)) ?? conversation,
    userMessage: { ...userMessage, taskResults: [...userMessage.taskResults, ...extracted.stored] },
    reply: toMessageView(reply),
    finishReason: result.finishReason,
  };
}

function toHistoryTurn(message: { role: 'user' | 'assistant'; content: string }): ChatTurn[] {
  return message.content.trim().length === 0 ? [] : [{ role: message.role, content: message.content }];
}

function notFound(id: string): NotFoundError {
  return new NotFoundError({ message: `Conversation ${id} does not exist.` });
}

function deletedDuringReply(id: string): NotFoundError {
  return new NotFoundError({
    message: `Conversation ${id} was deleted while its reply was being written; the reply was dropped.`,
  });
}
