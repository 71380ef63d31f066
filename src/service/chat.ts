// Chat turns: each within its operation's budget, one at a time per conversation (across replicas too), and waited
// for by a shutdown so their partial replies are stored.
import type { Repository } from '../db/index.js';
import { forwardAbort } from '../forwardAbort.js';
import { runChatTurn, type ChatTurnInput, type ChatTurnOutcome, type ChatTurnScope } from './chatTurn.js';
import { ConversationTurns, type ConversationEntry } from './ConversationTurns.js';
import type { EngineHolder } from './EngineHolder.js';
import type { OperationScope } from './OperationScope.js';
import type { SentimentListener } from './sentimentListener.js';

/** Today's behaviour: every chat message gets its sentiment, which sets the reply's tone (CHAT_TASKS' default). */
export const DEFAULT_CHAT_TASKS: readonly string[] = ['sentiment'];

export interface ChatServiceOptions {
  repository: Repository;
  engine: EngineHolder;
  /** Tasks run on every chat message before the reply (CHAT_TASKS); default DEFAULT_CHAT_TASKS. */
  chatTasks?: readonly string[];
  onSentiment?: SentimentListener;
}

export interface ChatService {
  /**
   * One chat turn. With an `operation` (the `chat` mutation), the turn runs within its budget, after its earlier
   * engine calls; a stream (`chatStream`, the CLI) passes its own scope.
   */
  turn(input: ChatTurnInput, scope: ChatTurnScope, operation?: OperationScope): Promise<ChatTurnOutcome>;
  /** Waits until every chat turn in progress has ended and stored what it produced; returns how many there were. */
  settle(): Promise<number>;
  /** Stops the turn inside a conversation that was just deleted (its reply has nowhere to go). */
  conversationDeleted(conversationId: string, reason: unknown): void;
}

export function createChatService(options: ChatServiceOptions): ChatService {
  const { repository, engine, onSentiment } = options;
  const chatTasks = options.chatTasks ?? DEFAULT_CHAT_TASKS;
  /** Chat turns in progress, so a shutdown can wait for their partial replies to be stored. */
  const turns = new Set<Promise<ChatTurnOutcome>>();
  /** Serializes the turns of each conversation and lets a deletion stop the one in progress. */
  const conversationTurns = new ConversationTurns();

  /**
   * Takes this process's turn on the conversation, then the database's lock on it (held against the other replicas'
   * turns). Losing that lock (its connection dropped) stops the turn: another replica may be writing there now.
   */
  const enterConversation = async (conversationId: string, turn: AbortController): Promise<ConversationEntry> => {
    const entry = await conversationTurns.enter(conversationId, turn);
    try {
      const lock = await repository.lockConversation(conversationId, turn.signal);
      const onLost = (): void => turn.abort(lock.lost.reason);
      if (lock.lost.aborted) onLost();
      else lock.lost.addEventListener('abort', onLost, { once: true });
      return {
        leave: async () => {
          lock.lost.removeEventListener('abort', onLost);
          try {
            await lock.release();
          } finally {
            await entry.leave();
          }
        },
      };
    } catch (error) {
      await entry.leave();
      throw error;
    }
  };

  const run = async (input: ChatTurnInput, scope: ChatTurnScope): Promise<ChatTurnOutcome> => {
    const turn = new AbortController();
    const detach = forwardAbort(scope.signal, turn);
    try {
      return await runChatTurn(engine.get(), repository, input, {
        ...scope,
        signal: turn.signal,
        chatTasks,
        enterConversation: (conversationId) => enterConversation(conversationId, turn),
        onEvent: (event) => {
          // `started` follows the user message's commit, so a turn that fails later still counts its sentiment.
          const sentiment = event.type === 'started' ? event.userMessage.sentiment : null;
          if (sentiment) onSentiment?.({ label: sentiment.label, source: 'chat', locale: sentiment.locale });
          scope.onEvent?.(event);
        },
      });
    } finally {
      detach();
    }
  };

  const service: ChatService = {
    turn: (input, scope, operation) => {
      if (operation) {
        // The message once for the reply, and once per task run on it.
        return operation.run(1 + chatTasks.length, () =>
          service.turn(input, { ...scope, key: operation.key, signal: operation.signal }),
        );
      }
      const turn = run(input, scope);
      turns.add(turn);
      const forget = (): void => void turns.delete(turn);
      turn.then(forget, forget);
      return turn;
    },
    settle: async () => {
      const running = [...turns];
      await Promise.allSettled(running);
      return running.length;
    },
    conversationDeleted: (conversationId, reason) => conversationTurns.deleted(conversationId, reason),
  };
  return service;
}
