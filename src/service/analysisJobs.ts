// Analysis jobs — a batch of texts with their own ids and tags, run through tasks in the background: create, add items,
// start, cancel, read and watch them, each scoped to its owner and within the job limits.
import { MAX_PAGE_SIZE, type Repository } from '../db/index.js';
import { BadInputError } from '../engine/index.js';
import { checkLabel, toNewAnalysisItems, type AnalysisItemInput } from './analysisItemInput.js';
import { toAnalysisItemView, toAnalysisJobView, type AnalysisItemView, type AnalysisJobView } from './analysisJobViews.js';
import type { EngineHolder } from './EngineHolder.js';
import { JobLimitError, JobNotOpenError, JobTooLargeError, NotFoundError } from './errors.js';
import { assertId } from './ids.js';
import type { JobEvents } from './JobEvents.js';
import { watchJobProgress } from './jobProgress.js';

export interface JobLimits {
  /** Items one job may hold (MAX_JOB_ITEMS). */
  maxItems: number;
  /** Items one `addAnalysisItems` call may send (MAX_JOB_ITEMS_PER_CALL). */
  maxItemsPerCall: number;
  /** Jobs of one key not yet ended (MAX_JOBS_PER_KEY). */
  maxActiveJobs: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxItems: 100_000, maxItemsPerCall: 1000, maxActiveJobs: 10 };

/** Longest job name: a file name or a title, which `analysisJobs(name:)` finds again. */
export const MAX_JOB_NAME_LENGTH = 200;
const DEFAULT_ITEMS_PAGE = 20;

export interface AnalysisJobsServiceOptions {
  repository: Repository;
  /** Knows the tasks a job may run. */
  engine: EngineHolder;
  /** Told of jobs queued and cancelled here (the runner and progress streams listen). */
  jobEvents: JobEvents;
  jobLimits?: JobLimits;
}

export interface JobPage<T> {
  items: T[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface AnalysisJobsService {
  create(input: { name?: string | null; tasks: readonly string[] }, owner: string | null): Promise<AnalysisJobView>;
  /** Idempotent by external id; NOT_FOUND, JOB_NOT_OPEN or JOB_TOO_LARGE add nothing. */
  add(jobId: string, items: readonly AnalysisItemInput[], owner: string | null): Promise<AnalysisJobView>;
  /** OPEN → QUEUED (an empty job: DONE); a job already started is returned as it is. */
  start(id: string, owner: string | null): Promise<AnalysisJobView>;
  /** Not yet ended → CANCELLED: nothing of it is run or stored after; an ended job is returned as it is. */
  cancel(id: string, owner: string | null): Promise<AnalysisJobView>;
  get(id: string, owner: string | null): Promise<AnalysisJobView | null>;
  /** Newest first; `after` is the previous page's endCursor. */
  list(
    owner: string | null,
    page: { first?: number | null; after?: string | null; name?: string | null },
  ): Promise<JobPage<AnalysisJobView>>;
  /** Items of a job the caller already holds (so ownership was checked), in the order added; cursor: an item's seq. */
  items(jobId: string, page: { first?: number | null; after?: string | null }): Promise<JobPage<AnalysisItemView>>;
  /**
   * The job at once, then whenever it changes (counters at most about once a second), at least every few seconds,
   * ending after its terminal status or when `signal` aborts. NOT_FOUND before anything when it is not the owner's.
   */
  progress(id: string, owner: string | null, signal: AbortSignal): Promise<AsyncIterable<AnalysisJobView>>;
}

export function createAnalysisJobsService(options: AnalysisJobsServiceOptions): AnalysisJobsService {
  const { repository, engine, jobEvents } = options;
  const limits = options.jobLimits ?? DEFAULT_JOB_LIMITS;
  const notFound = (id: string) => new NotFoundError({ message: `Analysis job ${id} does not exist.` });

  return {
    create: async ({ name, tasks }, owner) => {
      if (tasks.length === 0) throw new BadInputError({ message: 'A job needs at least one task.' });
      if (name != null) checkLabel(name, 'The job name', MAX_JOB_NAME_LENGTH);
      const current = engine.get();
      // An unknown task: the engine's own refusal, which names the tasks there are.
      for (const task of tasks) current.task(task);
      const created = await repository.createAnalysisJob({
        owner,
        name: name ?? null,
        tasks: [...new Set(tasks)],
        maxActive: limits.maxActiveJobs,
      });
      if (created.outcome === 'too-many') {
        throw new JobLimitError({
          message:
            `You have ${created.active} analysis jobs that have not ended; the limit is ${limits.maxActiveJobs}. ` +
            'Wait for one to end or cancel one.',
        });
      }
      return toAnalysisJobView(created.job);
    },

    add: async (jobId, items, owner) => {
      assertId(jobId, 'jobId');
      if (items.length > limits.maxItemsPerCall) {
        throw new BadInputError({
          message: `One call adds at most ${limits.maxItemsPerCall} items; got ${items.length}. Send them in chunks.`,
        });
      }
      const outcome = await repository.addAnalysisItems({
        jobId,
        owner,
        items: toNewAnalysisItems(items),
        maxItems: limits.maxItems,
      });
      switch (outcome.outcome) {
        case 'not-found':
          throw notFound(jobId);
        case 'not-open':
          throw new JobNotOpenError({
            message: `Analysis job ${jobId} is ${outcome.job.status.toUpperCase()}; items can be added only while it is OPEN.`,
          });
        case 'too-many':
          throw new JobTooLargeError({
            message:
              `These items would give analysis job ${jobId} ${outcome.wouldHave} items; ` +
              `a job holds at most ${limits.maxItems}. None was added.`,
          });
        case 'added':
          return toAnalysisJobView(outcome.job);
      }
    },

    start: async (id, owner) => {
      assertId(id, 'id');
      const transition = await repository.startAnalysisJob(id, owner);
      if (!transition) throw notFound(id);
      if (transition.changed && transition.job.status === 'queued') jobEvents.emit({ jobId: id, kind: 'queued' });
      return toAnalysisJobView(transition.job);
    },

    cancel: async (id, owner) => {
      assertId(id, 'id');
      const transition = await repository.cancelAnalysisJob(id, owner);
      if (!transition) throw notFound(id);
      if (transition.changed) jobEvents.emit({ jobId: id, kind: 'cancelled' });
      return toAnalysisJobView(transition.job);
    },

    get: async (id, owner) => {
      assertId(id, 'id');
      const job = await repository.getAnalysisJob(id, owner);
      return job && toAnalysisJobView(job);
    },

    list: async (owner, { first, after, name }) => {
      checkPageSize(first);
      if (after != null) assertId(after, 'after cursor');
      if (name != null) checkLabel(name, '`name`', MAX_JOB_NAME_LENGTH);
      const page = await repository.listAnalysisJobs({
        owner,
        ...(first == null ? {} : { first }),
        after: after ?? null,
        name: name ?? null,
      });
      const now = new Date();
      return { ...page, items: page.items.map((job) => toAnalysisJobView(job, now)) };
    },

    items: async (jobId, { first, after }) => {
      checkPageSize(first);
      const size = first ?? DEFAULT_ITEMS_PAGE;
      const afterSeq = after == null ? 0 : seqOfCursor(after);
      // One more than asked for says whether another page follows.
      const rows = await repository.listAnalysisItems({ jobId, afterSeq, first: size + 1 });
      const items = rows.slice(0, size).map(toAnalysisItemView);
      return { items, hasNextPage: rows.length > size, endCursor: items.length > 0 ? String(items.at(-1)!.seq) : null };
    },

    progress: async (id, owner, signal) => {
      assertId(id, 'id');
      const first = await repository.getAnalysisJob(id, owner);
      if (!first) throw notFound(id);
      return watchJobProgress({ first, read: () => repository.getAnalysisJob(id, owner), jobEvents, signal });
    },
  };
}

function checkPageSize(first: number | null | undefined): void {
  if (first != null && (first < 0 || first > MAX_PAGE_SIZE)) {
    throw new BadInputError({ message: `first must be between 0 and ${MAX_PAGE_SIZE}; got ${first}.` });
  }
}

function seqOfCursor(cursor: string): number {
  if (!/^\d{1,15}$/.test(cursor)) {
    throw new BadInputError({ message: `after cursor "${cursor.slice(0, 40)}" is not an item cursor (an endCursor of items).` });
  }
  return Number(cursor);
}
