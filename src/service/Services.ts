// What a request can do, across engine and database: the one object resolvers talk to.
import type { ConversationPage, Repository, ResultSource, StatsBucket, TaskStats } from '../db/index.js';
import {
  AbortedError,
  BadInputError,
  SENTIMENT_TASK_NAME,
  type EngineStatus,
  type Locale,
  type SentimentLabel,
  type TaskInfo,
} from '../engine/index.js';
import { forwardAbort } from '../forwardAbort.js';
import { analyzeAndStore, type AnalysisView } from './analysis.js';
import { runChatTurn, type ChatTurnInput, type ChatTurnOutcome, type ChatTurnScope } from './chatTurn.js';
import { ConversationTurns, type ConversationEntry } from './ConversationTurns.js';
import type { EngineHolder } from './EngineHolder.js';
import { NotFoundError } from './errors.js';
import { assertDateInRange } from './dateRange.js';
import { assertId } from './ids.js';
import { OperationScope } from './OperationScope.js';
import { classifyAndStore } from './sentiment.js';
import { toSentimentStats, type SentimentStats } from './sentimentStats.js';
import { toMessageView, type ConversationView, type MessageView, type SentimentView } from './views.js';

export interface ServicesOptions {
  database: Repository;
  engine: EngineHolder;
  /** Told about every sentiment stored (a query's, or a chat message's); for metrics. */
  onSentiment?: (sentiment: { label: SentimentLabel; source: ResultSource; locale: Locale }) => void;
  /** Tasks run on every chat message before the reply (CHAT_TASKS); default: sentiment. */
  chatTasks?: readonly string[];
  /** Texts (× tasks) one GraphQL operation may send to the engine (MAX_OPERATION_TEXTS). */
  maxOperationTexts?: number;
}

export interface StatsFilter {
  from?: Date | null;
  to?: Date | null;
  conversationId?: string | null;
  source?: ResultSource | null;
}

export interface PageArguments {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Largest page a client may ask for; more would make one request hold the database for long. */
export const MAX_CONVERSATIONS_PAGE = 100;

export class Services {
  readonly #database: Repository;
  readonly #engine: EngineHolder;
  readonly #onSentiment: ServicesOptions['onSentiment'];
  readonly #chatTasks: readonly string[] | undefined;
  readonly #maxOperationTexts: number | undefined;
  /** Chat turns in progress, so a shutdown can wait for their partial replies to be stored. */
  readonly #turns = new Set<Promise<ChatTurnOutcome>>();
  /** Serializes the turns of each conversation and lets a deletion stop the one in progress. */
  readonly #conversationTurns = new ConversationTurns();

  constructor(options: ServicesOptions) {
    this.#database = options.database;
    this.#engine = options.engine;
    this.#onSentiment = options.onSentiment;
    this.#chatTasks = options.chatTasks;
    this.#maxOperationTexts = options.maxOperationTexts;
  }

  /** The engine budget and fairness key of one GraphQL operation; its caller calls `finish()` when the result is final. */
  beginOperation(owner: string | null, clientSignal?: AbortSignal): OperationScope {
    return new OperationScope({
      owner,
      ...(clientSignal ? { clientSignal } : {}),
      ...(this.#maxOperationTexts === undefined ? {} : { maxTexts: this.#maxOperationTexts }),
    });
  }

  /** Why the service cannot serve requests now (model loading or gone, database unusable), or undefined. */
  async notReadyReason(): Promise<string | undefined> {
    if (!this.#engine.ready) return 'the model is not loaded';
    // The repository's reasons name no path or host: probes are open to anyone.
    const problem = await this.#database.problem();
    if (problem) return `the database cannot be written: ${problem}`;
    return undefined;
  }

  engineStatus(): EngineStatus & { ready: boolean } {
    const status = this.#engine.get().status();
    return { ...status, ready: this.#engine.ready };
  }

  /** Sentiment of each text, within the operation's budget; without a locale each text's language is detected. */
  classify(texts: readonly string[], locale: Locale | null, operation: OperationScope): Promise<SentimentView[]> {
    return operation.run(texts.length, async () => {
      const request = { texts, owner: operation.owner, key: operation.key, signal: operation.signal, ...(locale ? { locale } : {}) };
      const views = await classifyAndStore(this.#engine.get(), this.#database, request);
      for (const view of views) this.#onSentiment?.({ label: view.label, source: 'query', locale: view.locale });
      return views;
    });
  }

  tasks(): TaskInfo[] {
    return this.#engine.get().tasks();
  }

  /**
   * Runs tasks on one text in one engine job and stores every result (source QUERY); without a list, the default
   * analysis (sentiment, intent, keywords unless TASKS_FILE says otherwise). `kind` limits it to one kind of task.
   */
  analyze(
    text: string,
    tasks: readonly string[] | null,
    options: { locale: Locale | null; kind?: 'classify' | 'extract' },
    operation: OperationScope,
  ): Promise<AnalysisView> {
    const engine = this.#engine.get();
    const names = tasks ?? engine.defaultAnalysis;
    return operation.run(new Set(names).size, async () => {
      const request = { text, tasks: names, ...options, owner: operation.owner, key: operation.key, signal: operation.signal };
      const view = await analyzeAndStore(engine, this.#database, request);
      for (const result of view.results) {
        if (result.task === 'sentiment' && result.kind === 'classify') {
          this.#onSentiment?.({ label: result.label as SentimentLabel, source: 'query', locale: result.locale });
        }
      }
      return view;
    });
  }

  /** Counts per label of a classify task (sentiment's too), owner-scoped. */
  async taskStats(task: string, owner: string | null, filter: StatsFilter, bucket: StatsBucket): Promise<TaskStats> {
    const tasks = this.tasks();
    const definition = tasks.find((candidate) => candidate.name === task);
    if (!definition) {
      const names = tasks.map((item) => item.name).join(', ');
      throw new BadInputError({ message: `There is no task "${task.slice(0, 40)}"; the tasks are ${names}.` });
    }
    if (definition.kind !== 'classify') {
      throw new BadInputError({ message: `Task "${task}" is an extract task; only classify tasks have label statistics.` });
    }
    return this.#taskStats(task, owner, filter, bucket);
  }

  /**
   * One chat turn. With an `operation` (the `chat` mutation), the turn runs within its budget, after its earlier
   * engine calls; a stream (`chatStream`, the CLI) passes its own scope.
   */
  chat(input: ChatTurnInput, scope: ChatTurnScope, operation?: OperationScope): Promise<ChatTurnOutcome> {
    if (operation) {
      const texts = 1 + (this.#chatTasks ?? ['sentiment']).length;
      return operation.run(texts, () => this.chat(input, { ...scope, key: operation.key, signal: operation.signal }));
    }
    const turn = this.#runChatTurn(input, scope);
    this.#turns.add(turn);
    const forget = (): void => void this.#turns.delete(turn);
    turn.then(forget, forget);
    return turn;
  }

  /** Waits until every chat turn in progress has ended and stored what it produced; returns how many there were. */
  async settle(): Promise<number> {
    const turns = [...this.#turns];
    await Promise.allSettled(turns);
    return turns.length;
  }

  async #runChatTurn(input: ChatTurnInput, scope: ChatTurnScope): Promise<ChatTurnOutcome> {
    const turn = new AbortController();
    const detach = forwardAbort(scope.signal, turn);
    try {
      return await runChatTurn(this.#engine.get(), this.#database, input, {
        ...scope,
        signal: turn.signal,
        enterConversation: (conversationId) => this.#enterConversation(conversationId, turn),
        ...(this.#chatTasks ? { chatTasks: this.#chatTasks } : {}),
        onEvent: (event) => {
          // `started` follows the user message's commit, so a turn that fails later still counts its sentiment.
          const sentiment = event.type === 'started' ? event.userMessage.sentiment : null;
          if (sentiment) this.#onSentiment?.({ label: sentiment.label, source: 'chat', locale: sentiment.locale });
          scope.onEvent?.(event);
        },
      });
    } finally {
      detach();
    }
  }

  /**
   * Takes this process's turn on the conversation, then the database's lock on it (held against the other replicas'
   * turns). Losing that lock (its connection dropped) stops the turn: another replica may be writing there now.
   */
  async #enterConversation(conversationId: string, turn: AbortController): Promise<ConversationEntry> {
    const entry = await this.#conversationTurns.enter(conversationId, turn);
    try {
      const lock = await this.#database.lockConversation(conversationId, turn.signal);
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
  }

  async conversation(id: string, owner: string | null): Promise<ConversationView | null> {
    assertId(id, 'id');
    return this.#database.getConversation(id, owner);
  }

  async conversations(owner: string | null, page: PageArguments): Promise<ConversationPage> {
    const { first, after } = page;
    if (page.last != null || page.before != null) {
      throw new BadInputError({ message: 'Conversations page forward only: use first and after (newest first).' });
    }
    if (first != null && (first < 0 || first > MAX_CONVERSATIONS_PAGE)) {
      throw new BadInputError({ message: `first must be between 0 and ${MAX_CONVERSATIONS_PAGE}; got ${first}.` });
    }
    if (after != null) assertId(after, 'after cursor');
    return this.#database.listConversations({ owner, ...(first == null ? {} : { first }), after: after ?? null });
  }

  /** Messages of a conversation the caller already holds (so ownership was checked), oldest first. */
  async messages(conversationId: string): Promise<MessageView[]> {
    const messages = await this.#database.listMessages(conversationId);
    const userMessageIds = messages.filter((message) => message.role === 'user').map((message) => message.id);
    const taskResults = await this.#database.listTaskResultsOfMessages(userMessageIds);
    return messages.map((message) => toMessageView(message, taskResults.get(message.id) ?? []));
  }

  async deleteConversation(id: string, owner: string | null): Promise<boolean> {
    assertId(id, 'id');
    if (!(await this.#database.deleteConversation(id, owner))) {
      throw new NotFoundError({ message: `Conversation ${id} does not exist.` });
    }
    this.#conversationTurns.deleted(id, new AbortedError({ message: `Conversation ${id} was deleted.` }));
    return true;
  }

  async sentimentStats(owner: string | null, filter: StatsFilter, bucket: StatsBucket): Promise<SentimentStats> {
    return toSentimentStats(await this.#taskStats(SENTIMENT_TASK_NAME, owner, filter, bucket));
  }

  #taskStats(task: string, owner: string | null, filter: StatsFilter, bucket: StatsBucket): Promise<TaskStats> {
    this.#checkStatsFilter(filter);
    return this.#database.taskStats({
      task,
      owner,
      bucket,
      ...(filter.from ? { from: filter.from } : {}),
      ...(filter.to ? { to: filter.to } : {}),
      ...(filter.conversationId ? { conversationId: filter.conversationId } : {}),
      ...(filter.source ? { source: filter.source } : {}),
    });
  }

  #checkStatsFilter(filter: StatsFilter): void {
    if (filter.conversationId != null) assertId(filter.conversationId, 'conversationId');
    if (filter.from) assertDateInRange(filter.from, '`filter.from`');
    if (filter.to) assertDateInRange(filter.to, '`filter.to`');
    if (filter.from && filter.to && filter.from >= filter.to) {
      throw new BadInputError({ message: '`from` must be earlier than `to`.' });
    }
  }
}
