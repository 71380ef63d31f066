// The values each dialect inserts, made once: ids, timestamps, owners and the roll-ups' increments.
import { sql, type Column, type SQL } from 'drizzle-orm';
import { newId } from './ids.js';
import { ownerKey } from './owner.js';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type AssistantReplyInput,
  type CreateConversationInput,
  type NewTaskResult,
} from './Repository.js';
import type { ConversationRow, TaskResultRow } from './rows.js';
import { dayStartOf, hourStartOf } from './stats/timeRanges.js';

/**
 * Where a result belongs: a chat message (its text is the message's), a query (its text kept with it), or an analysis
 * job's item (its text is the item's).
 */
export type ResultContext = Pick<
  TaskResultRow,
  'source' | 'owner' | 'conversationId' | 'messageId' | 'jobId' | 'itemId' | 'text' | 'createdAt'
>;

export function conversationValues(
  input: CreateConversationInput,
  now: Date,
  id: string = newId(now.getTime()),
): ConversationRow {
  return { id, owner: input.owner, title: input.title ?? null, createdAt: now, updatedAt: now };
}

export function userMessageValues(conversationId: string, content: string, createdAt: Date) {
  return {
    id: newId(createdAt.getTime()),
    conversationId,
    role: 'user' as const,
    content,
    status: 'complete' as const,
    createdAt,
  };
}

export function assistantMessageValues(input: AssistantReplyInput, createdAt: Date) {
  return {
    id: newId(createdAt.getTime()),
    conversationId: input.conversationId,
    role: 'assistant' as const,
    content: input.content,
    status: input.status,
    finishReason: input.finishReason,
    tokenCount: input.tokenCount,
    latencyMs: input.latencyMs,
    createdAt,
  };
}

export function chatContext(
  conversation: { owner: string | null },
  conversationId: string,
  messageId: string,
  createdAt: Date,
): ResultContext {
  return {
    source: 'chat',
    owner: conversation.owner,
    conversationId,
    messageId,
    jobId: null,
    itemId: null,
    text: null,
    createdAt,
  };
}

export function queryContext(owner: string | null, text: string, createdAt: Date): ResultContext {
  return { source: 'query', owner, conversationId: null, messageId: null, jobId: null, itemId: null, text, createdAt };
}

/** A job item's results belong to the job's owner, whoever's worker ran them. */
export function jobItemContext(owner: string | null, jobId: string, itemId: string, createdAt: Date): ResultContext {
  return { source: 'job', owner, conversationId: null, messageId: null, jobId, itemId, text: null, createdAt };
}

export function taskResultValues(result: NewTaskResult, context: ResultContext): TaskResultRow {
  const classified = result.kind === 'classify';
  return {
    id: newId(context.createdAt.getTime()),
    ...context,
    task: result.task,
    kind: result.kind,
    locale: result.locale,
    latencyMs: result.latencyMs,
    label: classified ? result.label : null,
    confidence: classified ? result.confidence : null,
    scores: classified ? JSON.stringify(result.scores) : null,
    value: classified ? null : JSON.stringify(result.value),
  };
}

/** What one key of a roll-up gains: a count and a confidence sum for one owner, task, source, label and period. */
export type RollupIncrement = {
  ownerKey: string;
  task: string;
  source: TaskResultRow['source'];
  label: string;
  start: Date;
  count: number;
  confidenceSum: number;
};

/**
 * The classifications among `rows` summed per hour and per UTC day, one increment per key: a transaction storing
 * several results upserts each roll-up key once, not once per row.
 */
export function rollupIncrements(rows: readonly TaskResultRow[]): { hourly: RollupIncrement[]; daily: RollupIncrement[] } {
  const hourly = new Map<string, RollupIncrement>();
  const daily = new Map<string, RollupIncrement>();
  for (const row of rows) {
    if (!isClassification(row)) continue;
    const at = row.createdAt.getTime();
    addTo(hourly, row, hourStartOf(at));
    addTo(daily, row, dayStartOf(at));
  }
  return { hourly: [...hourly.values()], daily: [...daily.values()] };
}

function addTo(
  increments: Map<string, RollupIncrement>,
  row: TaskResultRow & { label: string; confidence: number },
  start: number,
): void {
  const key = ownerKey(row.owner);
  const id = JSON.stringify([key, row.task, row.source, row.label, start]);
  const found = increments.get(id);
  if (found) {
    found.count += 1;
    found.confidenceSum += row.confidence;
  } else {
    increments.set(id, {
      ownerKey: key,
      task: row.task,
      source: row.source,
      label: row.label,
      start: new Date(start),
      count: 1,
      confidenceSum: row.confidence,
    });
  }
}

/** What an upsert adds to a period already counted: each count plus the new row's (`excluded` in both dialects). */
export function addedToRollup<K extends string>(table: Record<K, Column>, columns: readonly K[]): Record<K, SQL> {
  const set = {} as Record<K, SQL>;
  for (const key of columns) {
    const column = table[key];
    set[key] = sql`${column} + excluded.${sql.identifier(column.name)}`;
  }
  return set;
}

/** The classify results among `rows`, which alone are counted in the roll-ups. */
function isClassification(row: TaskResultRow): row is TaskResultRow & { label: string; confidence: number } {
  return row.kind === 'classify' && row.label !== null && row.confidence !== null;
}

/** A page request's size, clamped to 0..MAX_PAGE_SIZE. */
export function pageSizeOf(first: number | undefined): number {
  return Math.max(0, Math.min(Math.trunc(first ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE));
}

/** Results grouped by the message they belong to, keeping their order. */
export function groupByMessage(rows: readonly TaskResultRow[]): Map<string, TaskResultRow[]> {
  const byMessage = new Map<string, TaskResultRow[]>();
  for (const row of rows) {
    if (row.messageId === null) continue;
    const list = byMessage.get(row.messageId) ?? [];
    list.push(row);
    byMessage.set(row.messageId, list);
  }
  return byMessage;
}
