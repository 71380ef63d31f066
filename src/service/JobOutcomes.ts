// The job runner's outcomes on their way to the database: stored in batches (one transaction each), told to progress
// streams and the sentiment metric, and each job's start and end here logged (never its texts).
import type { ClaimedItem, ItemOutcome, Repository } from '../db/index.js';
import { SENTIMENT_TASK_NAME, type SentimentLabel } from '../engine/index.js';
import type { Logger } from '../logger.js';
import { isTerminal } from './analysisJobViews.js';
import type { JobEvents } from './JobEvents.js';
import type { SentimentListener } from './sentimentListener.js';

/** Outcomes wait at most this long to be stored, so a progress bar moves smoothly while one transaction carries many. */
export const FLUSH_INTERVAL_MS = 100;
/** A batch this large is stored at once. */
export const FLUSH_SIZE = 64;
/** After a failed store: how long before the same outcomes are tried again (the items stay held meanwhile). */
const STORE_RETRY_MS = 1000;
/** Jobs this process worked on are looked up at most this often to log their end. */
const END_CHECK_INTERVAL_MS = 1000;

export interface JobOutcomesOptions {
  repository: Repository;
  worker: string;
  logger: Logger;
  jobEvents: JobEvents;
  onSentiment?: SentimentListener;
  /** The claimed item an outcome is of (while held). */
  jobOf(itemId: string): ClaimedItem | undefined;
  /** Whether the runner still holds items of this job. */
  holds(jobId: string): boolean;
  /** These items' outcomes were stored or dropped by the database: they are no longer held. */
  onSettled(itemIds: readonly string[]): void;
}

export class JobOutcomes {
  readonly #options: JobOutcomesOptions;
  #pending: ItemOutcome[] = [];
  #timer: NodeJS.Timeout | undefined;
  #tail: Promise<void> = Promise.resolve();
  /** Jobs worked on here whose end has not been seen: id → owner. */
  readonly #jobs = new Map<string, string | null>();
  #checkedAt = 0;

  constructor(options: JobOutcomesOptions) {
    this.#options = options;
  }

  /** A job this process claimed items of; its first claim here is logged. */
  jobSeen(jobId: string, owner: string | null): void {
    if (this.#jobs.has(jobId)) return;
    this.#jobs.set(jobId, owner);
    this.#options.logger.info({ jobId }, 'analysis job: running its items here');
  }

  jobEnded(jobId: string): void {
    this.#jobs.delete(jobId);
  }

  add(outcome: ItemOutcome): void {
    this.#pending.push(outcome);
    if (this.#pending.length >= FLUSH_SIZE) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Stores what is pending after any store in progress; never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#tail = this.#tail
      .then(() => this.#store())
      .catch((error: unknown) => {
        this.#options.logger.error({ err: error }, 'analysis jobs: storing outcomes failed unexpectedly');
      });
    return this.#tail;
  }

  /** Stores what is pending, once; what still fails stays with the runner, which gives those items back. */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
  }

  async #store(): Promise<void> {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const { repository, worker, logger, jobEvents } = this.#options;
    const items = new Map(batch.map((outcome) => [outcome.itemId, this.#options.jobOf(outcome.itemId)]));
    let stored: Set<string>;
    try {
      stored = new Set(await repository.completeAnalysisItems(worker, batch));
    } catch (error) {
      logger.warn({ err: error, items: batch.length }, 'analysis jobs: storing outcomes failed; trying again shortly');
      this.#pending.unshift(...batch);
      this.#timer ??= setTimeout(() => void this.flush(), STORE_RETRY_MS);
      return;
    }
    this.#options.onSettled(batch.map((outcome) => outcome.itemId));
    for (const outcome of batch) if (stored.has(outcome.itemId)) this.#reportSentiment(outcome);
    const jobIds = new Set([...items.values()].flatMap((item) => (item ? [item.jobId] : [])));
    for (const jobId of jobIds) jobEvents.emit({ jobId, kind: 'progress' });
    await this.#logEnds(jobIds);
  }

  #reportSentiment(outcome: ItemOutcome): void {
    if (!('results' in outcome)) return;
    for (const result of outcome.results) {
      if (result.task === SENTIMENT_TASK_NAME && result.kind === 'classify') {
        this.#options.onSentiment?.({ label: result.label as SentimentLabel, source: 'job', locale: result.locale });
      }
    }
  }

  /**
   * Logs the end of jobs this process has no items of left (whoever ended them): those just stored at once, the others
   * at most once a second.
   */
  async #logEnds(justStored: ReadonlySet<string>): Promise<void> {
    const all = Date.now() - this.#checkedAt >= END_CHECK_INTERVAL_MS;
    if (all) this.#checkedAt = Date.now();
    for (const [jobId, owner] of [...this.#jobs]) {
      if (this.#options.holds(jobId) || !(all || justStored.has(jobId))) continue;
      const job = await this.#options.repository.getAnalysisJob(jobId, owner).catch(() => undefined);
      if (job === undefined || (job !== null && !isTerminal(job.status))) continue;
      this.#jobs.delete(jobId);
      if (job === null) continue;
      const seconds = job.startedAt && job.finishedAt ? (job.finishedAt.getTime() - job.startedAt.getTime()) / 1000 : null;
      this.#options.logger.info(
        { jobId, status: job.status, total: job.total, processed: job.processed, failed: job.failed, seconds },
        'analysis job ended',
      );
    }
  }
}
