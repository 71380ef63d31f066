// PostgreSQL table definitions: the same tables, columns and constraints as sqlite/schema.ts, in PostgreSQL's types.
import {
  check,
  customType,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { ANALYSIS_ITEM_STATUSES, ANALYSIS_JOB_STATUSES } from '../AnalysisJobStore.js';
import { classifyHasLabel, oneOf, ownerIsNullOrNonEmpty } from '../checks.js';
import {
  FINISH_REASONS,
  LOCALES,
  MESSAGE_ROLES,
  MESSAGE_STATUSES,
  RESULT_SOURCES,
  TASK_KINDS,
} from '../rows.js';

// ULIDs sort by creation time only byte by byte: the "C" collation keeps the database's locale from reordering them
// (keyset pages compare ids with <).
const ulid = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
// JavaScript dates carry milliseconds; every time is an absolute instant.
const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

export const conversations = pgTable(
  'conversations',
  {
    id: ulid('id').primaryKey(),
    owner: text('owner'),
    title: text('title'),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    index('conversations_owner_id_idx').on(t.owner, t.id),
    check('conversations_owner_check', ownerIsNullOrNonEmpty(t.owner)),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: ulid('id').primaryKey(),
    conversationId: ulid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    role: text('role', { enum: MESSAGE_ROLES }).notNull(),
    content: text('content').notNull(),
    status: text('status', { enum: MESSAGE_STATUSES }).notNull(),
    finishReason: text('finish_reason', { enum: FINISH_REASONS }),
    tokenCount: integer('token_count'),
    latencyMs: doublePrecision('latency_ms'),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('messages_conversation_created_idx').on(t.conversationId, t.createdAt),
    check('messages_role_check', oneOf(t.role, MESSAGE_ROLES)),
    check('messages_status_check', oneOf(t.status, MESSAGE_STATUSES)),
    check('messages_finish_reason_check', oneOf(t.finishReason, FINISH_REASONS)),
  ],
);

export const analysisJobs = pgTable(
  'analysis_jobs',
  {
    id: ulid('id').primaryKey(),
    owner: text('owner'),
    name: text('name'),
    tasks: text('tasks').notNull(),
    status: text('status', { enum: ANALYSIS_JOB_STATUSES }).notNull(),
    total: integer('total').notNull(),
    processed: integer('processed').notNull(),
    failed: integer('failed').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    createdAt: instant('created_at').notNull(),
    queuedAt: instant('queued_at'),
    startedAt: instant('started_at'),
    finishedAt: instant('finished_at'),
    lastClaimedAt: instant('last_claimed_at'),
  },
  (t) => [
    index('analysis_jobs_owner_id_idx').on(t.owner, t.id),
    index('analysis_jobs_owner_name_idx').on(t.owner, t.name),
    index('analysis_jobs_status_idx').on(t.status),
    check('analysis_jobs_owner_check', ownerIsNullOrNonEmpty(t.owner)),
    check('analysis_jobs_status_check', oneOf(t.status, ANALYSIS_JOB_STATUSES)),
  ],
);

export const analysisItems = pgTable(
  'analysis_items',
  {
    id: ulid('id').primaryKey(),
    jobId: ulid('job_id')
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
    leaseUntil: instant('lease_until'),
    attempts: integer('attempts').notNull(),
    finishedAt: instant('finished_at'),
  },
  (t) => [
    uniqueIndex('analysis_items_job_seq_idx').on(t.jobId, t.seq),
    uniqueIndex('analysis_items_job_external_id_idx').on(t.jobId, t.externalId),
    index('analysis_items_claim_idx').on(t.jobId, t.status, t.seq),
    check('analysis_items_status_check', oneOf(t.status, ANALYSIS_ITEM_STATUSES)),
  ],
);

export const analysisItemTags = pgTable(
  'analysis_item_tags',
  {
    jobId: ulid('job_id').notNull(),
    itemId: ulid('item_id')
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

export const taskResults = pgTable(
  'task_results',
  {
    id: ulid('id').primaryKey(),
    task: text('task').notNull(),
    kind: text('kind', { enum: TASK_KINDS }).notNull(),
    source: text('source', { enum: RESULT_SOURCES }).notNull(),
    owner: text('owner'),
    conversationId: ulid('conversation_id').references(() => conversations.id, { onDelete: 'set null' }),
    messageId: ulid('message_id').references(() => messages.id, { onDelete: 'set null' }),
    jobId: ulid('job_id').references(() => analysisJobs.id, { onDelete: 'set null' }),
    itemId: ulid('item_id').references(() => analysisItems.id, { onDelete: 'set null' }),
    text: text('text'),
    locale: text('locale', { enum: LOCALES }).notNull(),
    label: text('label'),
    confidence: doublePrecision('confidence'),
    // JSON kept as the text it was written as, so both dialects hand back the same strings.
    scores: text('scores'),
    value: text('value'),
    latencyMs: doublePrecision('latency_ms').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    index('task_results_message_idx').on(t.messageId),
    index('task_results_conversation_created_idx').on(t.conversationId, t.createdAt),
    index('task_results_owner_task_source_created_idx').on(t.owner, t.task, t.source, t.createdAt),
    uniqueIndex('task_results_item_task_idx').on(t.itemId, t.task),
    index('task_results_job_task_created_idx').on(t.jobId, t.task, t.createdAt),
    check('task_results_owner_check', ownerIsNullOrNonEmpty(t.owner)),
    check('task_results_kind_check', oneOf(t.kind, TASK_KINDS)),
    check('task_results_source_check', oneOf(t.source, RESULT_SOURCES)),
    check('task_results_locale_check', oneOf(t.locale, LOCALES)),
    check('task_results_shape_check', classifyHasLabel(t.kind, t.label, t.confidence)),
  ],
);

export const taskHourlyCounts = pgTable(
  'task_hourly_counts',
  {
    ownerKey: text('owner_key').notNull(),
    task: text('task').notNull(),
    source: text('source', { enum: RESULT_SOURCES }).notNull(),
    label: text('label').notNull(),
    hourStart: instant('hour_start').notNull(),
    count: integer('count').notNull(),
    confidenceSum: doublePrecision('confidence_sum').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ownerKey, t.task, t.source, t.hourStart, t.label] })],
);

export const taskDailyCounts = pgTable(
  'task_daily_counts',
  {
    ownerKey: text('owner_key').notNull(),
    task: text('task').notNull(),
    source: text('source', { enum: RESULT_SOURCES }).notNull(),
    label: text('label').notNull(),
    dayStart: instant('day_start').notNull(),
    count: integer('count').notNull(),
    confidenceSum: doublePrecision('confidence_sum').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ownerKey, t.task, t.source, t.dayStart, t.label] })],
);
