// SQLite table definitions: conversations, messages, analysis jobs and their items, every task's results (sentiment's
// included) and their hourly and daily roll-ups.
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { ANALYSIS_ITEM_STATUSES, ANALYSIS_JOB_STATUSES } from '../AnalysisJobStore.js';
import { FINISH_REASONS, LOCALES, MESSAGE_ROLES, MESSAGE_STATUSES, RESULT_SOURCES, TASK_KINDS } from '../rows.js';
import { classifyHasLabel, oneOf, ownerIsNullOrNonEmpty } from '../checks.js';

export const conversations = sqliteTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    owner: text('owner'),
    title: text('title'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    // ULIDs sort by creation time, so (owner, id) serves "newest first" keyset pages for one owner.
    index('conversations_owner_id_idx').on(t.owner, t.id),
    check('conversations_owner_check', ownerIsNullOrNonEmpty(t.owner)),
  ],
);

export const messages = sqliteTable(
  'messages',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    role: text('role', { enum: MESSAGE_ROLES }).notNull(),
    content: text('content').notNull(),
    status: text('status', { enum: MESSAGE_STATUSES }).notNull(),
    finishReason: text('finish_reason', { enum: FINISH_REASONS }),
    tokenCount: integer('token_count'),
    latencyMs: real('latency_ms'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    // Serves both "messages of a conversation, oldest first" and the ON DELETE CASCADE lookup.
    index('messages_conversation_created_idx').on(t.conversationId, t.createdAt),
    check('messages_role_check', oneOf(t.role, MESSAGE_ROLES)),
    check('messages_status_check', oneOf(t.status, MESSAGE_STATUSES)),
    check('messages_finish_reason_check', oneOf(t.finishReason, FINISH_REASONS)),
  ],
);

// A batch of texts run through `tasks` (a JSON array, in order) in the background; counters kept with every change.
export const analysisJobs = sqliteTable(
  'analysis_jobs',
  {
    id: text('id').primaryKey(),
    owner: text('owner'),
    name: text('name'),
    tasks: text('tasks').notNull(),
    status: text('status', { enum: ANALYSIS_JOB_STATUSES }).notNull(),
    total: integer('total').notNull(),
    processed: integer('processed').notNull(),
    failed: integer('failed').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    queuedAt: integer('queued_at', { mode: 'timestamp_ms' }),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    // When a worker last claimed items of it: whose turn it is (the one claimed from longest ago).
    lastClaimedAt: integer('last_claimed_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    // Newest first per owner (ULIDs), optionally by name.
    index('analysis_jobs_owner_id_idx').on(t.owner, t.id),
    index('analysis_jobs_owner_name_idx').on(t.owner, t.name),
    // Claims look only at queued and running jobs.
    index('analysis_jobs_status_idx').on(t.status),
    check('analysis_jobs_owner_check', ownerIsNullOrNonEmpty(t.owner)),
    check('analysis_jobs_status_check', oneOf(t.status, ANALYSIS_JOB_STATUSES)),
  ],
);

// One text of a job, with its external id and tags (a JSON array of {key, value}, in the order given); a claim is a
// lease (owner and expiry) on a pending item.
export const analysisItems = sqliteTable(
  'analysis_items',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => analysisJobs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    externalId: text('external_id'),
    text: text('text').notNull(),
    tags: text('tags').notNull(),
    status: text('status', { enum: ANALYSIS_ITEM_STATUSES }).notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    leaseOwner: text('lease_owner'),
    leaseUntil: integer('lease_until', { mode: 'timestamp_ms' }),
    attempts: integer('attempts').notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('analysis_items_job_seq_idx').on(t.jobId, t.seq),
    // NULLs never conflict: items without an external id are never deduplicated.
    uniqueIndex('analysis_items_job_external_id_idx').on(t.jobId, t.externalId),
    // A claim's scan: the job's pending items in seq order.
    index('analysis_items_claim_idx').on(t.jobId, t.status, t.seq),
    check('analysis_items_status_check', oneOf(t.status, ANALYSIS_ITEM_STATUSES)),
  ],
);

// The items' tags as rows, for the statistics' tag filters and groups (the item's JSON keeps their order).
export const analysisItemTags = sqliteTable(
  'analysis_item_tags',
  {
    jobId: text('job_id').notNull(),
    itemId: text('item_id')
      .notNull()
      .references(() => analysisItems.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: text('value').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.itemId, t.key] }),
    index('analysis_item_tags_job_key_value_idx').on(t.jobId, t.key, t.value),
  ],
);

// Results of every task, sentiment included: a classification's label and per-label probabilities, or an extraction's
// JSON answer; from a chat message or a query.
export const taskResults = sqliteTable(
  'task_results',
  {
    id: text('id').primaryKey(),
    task: text('task').notNull(),
    kind: text('kind', { enum: TASK_KINDS }).notNull(),
    source: text('source', { enum: RESULT_SOURCES }).notNull(),
    owner: text('owner'),
    // SET NULL rather than CASCADE: deleting a conversation removes its text (the messages) but keeps the
    // anonymous result history, so analytics totals do not shrink when users tidy up.
    conversationId: text('conversation_id').references(() => conversations.id, { onDelete: 'set null' }),
    messageId: text('message_id').references(() => messages.id, { onDelete: 'set null' }),
    // A JOB result's job and item (the item keeps the text).
    jobId: text('job_id').references(() => analysisJobs.id, { onDelete: 'set null' }),
    itemId: text('item_id').references(() => analysisItems.id, { onDelete: 'set null' }),
    // Only QUERY results keep their text; CHAT results point at their message instead.
    text: text('text'),
    locale: text('locale', { enum: LOCALES }).notNull(),
    // classify: the label, its probability, and every label's as a JSON object.
    label: text('label'),
    confidence: real('confidence'),
    scores: text('scores'),
    // extract: the answer as JSON text.
    value: text('value'),
    latencyMs: real('latency_ms').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    // A message's results, and the ON DELETE SET NULL lookup.
    index('task_results_message_idx').on(t.messageId),
    index('task_results_conversation_created_idx').on(t.conversationId, t.createdAt),
    // Owner-wide stats read whole hours from the roll-up and only the partial hours at the edges from here.
    index('task_results_owner_task_source_created_idx').on(t.owner, t.task, t.source, t.createdAt),
    // One result per item and task, whatever a worker retries; also a job's results and the SET NULL lookup.
    uniqueIndex('task_results_item_task_idx').on(t.itemId, t.task),
    index('task_results_job_task_created_idx').on(t.jobId, t.task, t.createdAt),
    check('task_results_owner_check', ownerIsNullOrNonEmpty(t.owner)),
    check('task_results_kind_check', oneOf(t.kind, TASK_KINDS)),
    check('task_results_source_check', oneOf(t.source, RESULT_SOURCES)),
    check('task_results_locale_check', oneOf(t.locale, LOCALES)),
    check('task_results_shape_check', classifyHasLabel(t.kind, t.label, t.confidence)),
  ],
);

// Per owner, task, source, label and UTC hour: the count and the confidence sum of classify results, kept in the
// same transaction as every insert. A year of stats then aggregates hours instead of scanning a million rows.
export const taskHourlyCounts = sqliteTable(
  'task_hourly_counts',
  {
    ownerKey: text('owner_key').notNull(),
    task: text('task').notNull(),
    source: text('source', { enum: RESULT_SOURCES }).notNull(),
    label: text('label').notNull(),
    hourStart: integer('hour_start', { mode: 'timestamp_ms' }).notNull(),
    count: integer('count').notNull(),
    confidenceSum: real('confidence_sum').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ownerKey, t.task, t.source, t.hourStart, t.label] })],
);

// The same counts per UTC day, kept in the same transaction: a year by day, week or month then reads ~365 days per key
// instead of ~8,760 hours.
export const taskDailyCounts = sqliteTable(
  'task_daily_counts',
  {
    ownerKey: text('owner_key').notNull(),
    task: text('task').notNull(),
    source: text('source', { enum: RESULT_SOURCES }).notNull(),
    label: text('label').notNull(),
    dayStart: integer('day_start', { mode: 'timestamp_ms' }).notNull(),
    count: integer('count').notNull(),
    confidenceSum: real('confidence_sum').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ownerKey, t.task, t.source, t.dayStart, t.label] })],
);
