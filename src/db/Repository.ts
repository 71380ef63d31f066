// The one seam between the service and storage: what every dialect (SQLite, PostgreSQL) does, with the same answers.
import type { AnalysisJobStore, Tag } from './AnalysisJobStore.js';
import type {
  ConversationRow,
  FinishReason,
  MessageRow,
  MessageStatus,
  ResultSource,
  StoredLocale,
  TaskResultRow,
} from './rows.js';

export const DEFAULT_PAGE_SIZE = 20;
/** Largest page: the repository clamps to it, the service refuses more; a larger page would hold the database long. */
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

/** One task's result as the engine reports it, before it belongs to a message or a query. */
export type NewTaskResult =
  | {
      task: string;
      kind: 'classify';
      locale: StoredLocale;
      label: string;
      confidence: number;
      scores: Record<string, number>;
      latencyMs: number;
    }
  | { task: string; kind: 'extract'; locale: StoredLocale; value: unknown; latencyMs: number };

export interface UserTurnInput {
  conversationId: string;
  /**
   * Creates the conversation `conversationId` (an id from `newConversationId`) in the same transaction as its first
   * message, so a turn refused or failing before that message is stored leaves no empty conversation behind.
   */
  newConversation?: CreateConversationInput;
  content: string;
  /** The chat tasks' results on `content` (its sentiment among them), made before this call and stored with it. */
  taskResults?: readonly NewTaskResult[];
  /** Defaults to now. */
  createdAt?: Date;
}

export interface MessageResultsInput {
  /** A user message already stored; its conversation's owner and the message's time are the results'. */
  messageId: string;
  taskResults: readonly NewTaskResult[];
}

export interface UserTurn {
  /** The conversation as the turn left it (updatedAt moved to the message). */
  conversation: ConversationRow;
  message: MessageRow;
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

/** What the tasks found in one text of a query: the text is kept, since no message holds it. */
export interface QueryAnalysisInput {
  owner: string | null;
  text: string;
  taskResults: readonly NewTaskResult[];
  /** Defaults to now. */
  createdAt?: Date;
}

export interface QueryAnalysis {
  /** In the order given. */
  taskResults: TaskResultRow[];
}

export type StatsBucket = 'hour' | 'day' | 'week' | 'month';

export interface StatsRange {
  owner: string | null;
  /** Inclusive lower bound on createdAt. */
  from?: Date;
  /** Exclusive upper bound on createdAt, so consecutive ranges never count a row twice. */
  to?: Date;
  conversationId?: string;
  source?: ResultSource;
  /** Only results of this analysis job's items. */
  jobId?: string;
  /** Only results of job items carrying every one of these tags. */
  tags?: readonly Tag[];
  bucket: StatsBucket;
}

export interface TaskStatsOptions extends StatsRange {
  task: string;
  /** Also count per value of this tag (job items only): `TaskStats.groups`. */
  groupByTag?: string;
}

export interface LabelCount {
  label: string;
  count: number;
}

export interface TaskStats {
  total: number;
  /** 0 when there is nothing to average. */
  averageConfidence: number;
  /** Labels that occurred, most frequent first. */
  labels: LabelCount[];
  /** Non-empty buckets, oldest first. */
  series: { start: Date; total: number; labels: LabelCount[] }[];
  /**
   * With `groupByTag`: one group per value of that tag among the counted results, most results first (ties by value);
   * `value` null gathers results whose item lacks the tag (and results of no job item).
   */
  groups?: TaskStatsGroup[];
}

export interface TaskStatsGroup {
  value: string | null;
  total: number;
  averageConfidence: number;
  labels: LabelCount[];
}

/** Held while one chat turn reads a conversation's history and writes its messages; `release` lets the next in. */
export interface ConversationLock {
  /**
   * Aborted when the lock is lost before it is released (the database connection holding it dropped): another
   * replica may then enter the conversation, so the turn should stop.
   */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export interface Repository extends AnalysisJobStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the data lives, for logs and the banner: a file path, or host:port/database (never a password). */
  readonly location: string;

  createConversation(input: CreateConversationInput): Promise<ConversationRow>;
  /** The conversation if it exists and belongs to `owner`; otherwise null (the caller decides what that means). */
  getConversation(id: string, owner: string | null): Promise<ConversationRow | null>;
  /** Newest first; ULIDs are made at creation, so id order is creation order and the id is the cursor. */
  listConversations(options: ListConversationsOptions): Promise<ConversationPage>;
  /**
   * Deletes the conversation if it belongs to `owner`; its messages go with it while its results stay for
   * analytics, detached from it. Returns whether anything was deleted.
   */
  deleteConversation(id: string, owner: string | null): Promise<boolean>;

  /** Messages oldest first (their results: listTaskResultsOfMessages). Not owner-scoped: reach it through getConversation. */
  listMessages(conversationId: string): Promise<MessageRow[]>;
  /** The user message with its chat results, in one transaction; null if the conversation no longer exists. */
  insertUserTurn(input: UserTurnInput): Promise<UserTurn | null>;
  /**
   * Results made after the user message was stored (a chat's extractions), in one transaction; null, and nothing
   * stored, if the message no longer exists (its conversation was deleted).
   */
  insertMessageResults(input: MessageResultsInput): Promise<TaskResultRow[] | null>;
  /** The reply once generation ended (complete, aborted or failed); null if the conversation was deleted. */
  insertAssistantReply(input: AssistantReplyInput): Promise<MessageRow | null>;
  /**
   * Holds the conversation for one turn against turns on it in the other replicas sharing the database (the service
   * serializes the turns within one process itself). SQLite is one process's database: its lock is held at once.
   * Rejects with `signal`'s reason if it aborts while waiting.
   */
  lockConversation(conversationId: string, signal: AbortSignal): Promise<ConversationLock>;

  /** What a query's tasks found in each of its texts (source QUERY), in one transaction, returned in input order. */
  insertQueryAnalyses(inputs: readonly QueryAnalysisInput[]): Promise<QueryAnalysis[]>;
  /** The results stored for these messages, grouped by message, in the order they were stored. */
  listTaskResultsOfMessages(messageIds: readonly string[]): Promise<Map<string, TaskResultRow[]>>;

  /**
   * Counts per label, average confidence and a per-bucket series of a classify task's stored results (sentiment's
   * too), aggregated in the database from one snapshot.
   */
  taskStats(options: TaskStatsOptions): Promise<TaskStats>;
  /** Recomputes the hourly roll-up from the rows, for bulk loads that wrote rows directly. */
  rebuildHourlyCounts(): Promise<void>;

  /**
   * Why the database cannot take writes now (file removed, connection lost; the last write failed — locked, full,
   * read-only — and a probe write still fails), or undefined. Fit for /readyz: no path, host or credential.
   */
  problem(): Promise<string | undefined>;
  /** Closes connections; calling it again does nothing. */
  close(): Promise<void>;
}
