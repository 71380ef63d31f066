// Analysis jobs — a collection of texts run through tasks in the background: the types, `analysisJob(s)`, the four
// mutations and the `analysisJobProgress` subscription.
import { Repeater } from 'graphql-yoga';
import type { Tag as TagShape } from '../db/index.js';
import type { AnalysisItemView, AnalysisJobView } from '../service/analysisJobViews.js';
import type { JobPage } from '../service/analysisJobs.js';
import { TaskResult } from './analysis.js';
import { builder } from './builder.js';

const AnalysisJobStatusEnum = builder.enumType('AnalysisJobStatus', {
  description: 'OPEN (accepts items) → QUEUED (started) → RUNNING → DONE, CANCELLED or FAILED.',
  values: {
    OPEN: { value: 'open' },
    QUEUED: { value: 'queued' },
    RUNNING: { value: 'running' },
    DONE: { value: 'done' },
    CANCELLED: { value: 'cancelled' },
    FAILED: { value: 'failed' },
  } as const,
});

const AnalysisItemStatusEnum = builder.enumType('AnalysisItemStatus', {
  values: { PENDING: { value: 'pending' }, DONE: { value: 'done' }, FAILED: { value: 'failed' } } as const,
});

const Tag = builder.objectRef<TagShape>('Tag').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const TagInput = builder.inputType('TagInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

const AnalysisError = builder.objectRef<{ code: string; message: string }>('AnalysisError').implement({
  fields: (t) => ({ code: t.exposeString('code'), message: t.exposeString('message') }),
});

const CreateAnalysisJobInput = builder.inputType('CreateAnalysisJobInput', {
  fields: (t) => ({
    name: t.string({ description: 'Find the job again with analysisJobs(name:), e.g. to resume sending a file.' }),
    tasks: t.stringList({ required: true, description: 'Classify and extract tasks, run on every item in this order.' }),
  }),
});

const AnalysisItemInput = builder.inputType('AnalysisItemInput', {
  fields: (t) => ({
    text: t.string({ required: true }),
    externalId: t.string({ description: 'Unique within the job: an item whose externalId the job has is not added again.' }),
    tags: t.field({ type: [TagInput], description: "The row's other columns (product, store, date…); keys unique per item." }),
  }),
});

const AnalysisItem = builder.objectRef<AnalysisItemView>('AnalysisItem').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    externalId: t.exposeString('externalId', { nullable: true }),
    text: t.exposeString('text'),
    tags: t.field({ type: [Tag], resolve: (item) => item.tags }),
    status: t.expose('status', { type: AnalysisItemStatusEnum }),
    taskResults: t.field({
      type: [TaskResult],
      description: "In the job's task order; empty while pending or when the item failed.",
      resolve: (item) => item.taskResults,
    }),
    error: t.expose('error', { type: AnalysisError, nullable: true, description: 'Why the item failed.' }),
  }),
});

const AnalysisItemConnection = builder.connectionObject(
  { type: AnalysisItem, name: 'AnalysisItemConnection' },
  { name: 'AnalysisItemEdge' },
);

const AnalysisJob = builder.objectRef<AnalysisJobView>('AnalysisJob').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { nullable: true }),
    tasks: t.exposeStringList('tasks'),
    status: t.expose('status', { type: AnalysisJobStatusEnum }),
    total: t.exposeInt('total', { description: 'Items added.' }),
    processed: t.exposeInt('processed', { description: 'Items finished, failed ones included.' }),
    failed: t.exposeInt('failed'),
    itemsPerSecond: t.exposeFloat('itemsPerSecond', { nullable: true, description: 'Since startedAt; null before.' }),
    etaSeconds: t.exposeFloat('etaSeconds', { nullable: true, description: 'Null when unknown or ended.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    error: t.expose('error', { type: AnalysisError, nullable: true, description: "A FAILED job's reason." }),
    items: t.field({
      type: AnalysisItemConnection,
      description: 'In the order added (at most 100 a page); the cursor is the position, from 1.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (job, { first, after }, { services }) =>
        connectionOf(await services.analysisJobs.items(job.id, { first, after }), after, (item) => String(item.seq)),
    }),
  }),
});

const AnalysisJobConnection = builder.connectionObject(
  { type: AnalysisJob, name: 'AnalysisJobConnection' },
  { name: 'AnalysisJobEdge' },
);

builder.queryFields((t) => ({
  analysisJob: t.field({
    type: AnalysisJob,
    nullable: true,
    description: 'Null when there is no such job of yours.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { services, owner }) => services.analysisJobs.get(String(id), owner),
  }),
  analysisJobs: t.field({
    type: AnalysisJobConnection,
    description: 'Your jobs, newest first (at most 100 a page).',
    args: { first: t.arg.int(), after: t.arg.string(), name: t.arg.string({ description: 'Only jobs of this name.' }) },
    resolve: async (_, { first, after, name }, { services, owner }) =>
      connectionOf(await services.analysisJobs.list(owner, { first, after, name }), after, (job) => job.id),
  }),
}));

builder.mutationFields((t) => ({
  createAnalysisJob: t.field({
    type: AnalysisJob,
    description: 'A job that accepts items (OPEN); an unknown task is BAD_USER_INPUT naming the tasks there are.',
    args: { input: t.arg({ type: CreateAnalysisJobInput, required: true }) },
    resolve: (_, { input }, { services, owner }) => services.analysisJobs.create(input, owner),
  }),
  addAnalysisItems: t.field({
    type: AnalysisJob,
    description:
      'Adds up to MAX_JOB_ITEMS_PER_CALL (1,000) items to an OPEN job, idempotent by externalId (a chunk sent twice ' +
      'adds nothing twice). A text with U+0000 or a lone surrogate is stored failed (INVALID_TEXT).',
    args: {
      jobId: t.arg.id({ required: true }),
      items: t.arg({ type: [AnalysisItemInput], required: true }),
    },
    resolve: (_, { jobId, items }, { services, owner }) => services.analysisJobs.add(String(jobId), items, owner),
  }),
  startAnalysisJob: t.field({
    type: AnalysisJob,
    description: 'OPEN → QUEUED: its items run on the spare capacity of every replica. An empty job is DONE at once.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { services, owner }) => services.analysisJobs.start(String(id), owner),
  }),
  cancelAnalysisJob: t.field({
    type: AnalysisJob,
    description: 'CANCELLED: nothing of it runs or is stored after; results stored before stay.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { services, owner }) => services.analysisJobs.cancel(String(id), owner),
  }),
}));

builder.subscriptionField('analysisJobProgress', (t) =>
  t.field({
    type: AnalysisJob,
    description:
      'The job at once, then on every status change, on counter changes at most about once a second, and at least ' +
      'every 5 s; completes after a terminal status.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_, { id }, { services, owner }) => {
      const controller = new AbortController();
      const snapshots = await services.analysisJobs.progress(String(id), owner, controller.signal);
      return bridge(snapshots, controller);
    },
    resolve: (job) => job,
  }),
);

/** The snapshots as a Repeater, whose stop (the client went) ends the wait between snapshots at once. */
function bridge(snapshots: AsyncIterable<AnalysisJobView>, controller: AbortController): AsyncIterable<AnalysisJobView> {
  return new Repeater<AnalysisJobView>(async (push, stop) => {
    void stop.then(() => controller.abort());
    try {
      for await (const snapshot of snapshots) {
        if (controller.signal.aborted) break;
        await push(snapshot);
      }
      stop();
    } catch (error) {
      stop(error);
    }
  });
}

/** A page as a Relay connection; `cursorOf` gives a node's cursor (an item's seq, a job's id). */
function connectionOf<T>(page: JobPage<T>, after: string | null | undefined, cursorOf: (node: T) => string) {
  return {
    edges: page.items.map((node) => ({ cursor: cursorOf(node), node })),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: after != null,
      startCursor: page.items[0] ? cursorOf(page.items[0]) : null,
      endCursor: page.endCursor,
    },
  };
}
