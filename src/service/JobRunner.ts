// The background worker of analysis jobs, one per process: claims items (shared fairly with every other replica),
// runs their tasks on the engine's spare capacity, stores outcomes in batches, keeps its leases, and gives back what
// it holds when it stops.
import { newLeaseOwner, type ClaimedItem, type Repository } from '../db/index.js';
import { BadInputError, type Engine } from '../engine/index.js';
import type { Logger } from '../logger.js';
import { publicCodeOf } from '../publicCodes.js';
import type { EngineHolder } from './EngineHolder.js';
import { HeldItems, type HeldItem } from './HeldItems.js';
import type { JobEvents } from './JobEvents.js';
import { JobOutcomes } from './JobOutcomes.js';
import type { SentimentListener } from './sentimentListener.js';
import { storedShapeOf } from './taskRuns.js';

/** How often an idle runner looks for work other replicas queued (a job started here wakes it at once). */
export const IDLE_POLL_MS = 500;
/** Items claimed beyond those running, so the next starts the moment one ends instead of after a claim. */
export const PREFETCH_ITEMS = 2;
/** After the database failed or the engine could not take work: how long before trying again. */
export const RETRY_MS = 1000;
/** A job's code when a task of it is gone (TASKS_FILE changed between its creation and its run). */
export const TASK_UNAVAILABLE_CODE = 'TASK_UNAVAILABLE';

export interface JobRunnerOptions {
  repository: Repository;
  engine: EngineHolder;
  jobEvents: JobEvents;
  logger: Logger;
  /** Items run on the engine at once: its background sequences. */
  slots: number;
  /** How long a claim lasts unless renewed (renewed every third of it); another replica takes items of a dead one after it. */
  leaseMs: number;
  /** Told about every sentiment stored (source `job`); for metrics. */
  onSentiment?: SentimentListener;
}

export class JobRunner {
  /** This process's name on the items it holds: unique per run, so a restarted process never mistakes old claims. */
  readonly worker = newLeaseOwner();
  readonly #options: JobRunnerOptions;
  readonly #held = new HeldItems();
  readonly #runs = new Set<Promise<void>>();
  readonly #outcomes: JobOutcomes;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #poked = false;
  #wakeUp: (() => void) | undefined;
  #pausedUntil = 0;
  #unsubscribe: (() => void) | undefined;
  #renewTimer: NodeJS.Timeout | undefined;

  constructor(options: JobRunnerOptions) {
    this.#options = options;
    this.#outcomes = new JobOutcomes({
      repository: options.repository,
      worker: this.worker,
      logger: options.logger,
      jobEvents: options.jobEvents,
      ...(options.onSentiment ? { onSentiment: options.onSentiment } : {}),
      jobOf: (itemId) => this.#held.get(itemId)?.item,
      holds: (jobId) => this.#held.holdsJob(jobId),
      onSettled: (itemIds) => this.#held.drop(itemIds),
    });
  }

  /** Starts claiming and running items; call it once the engine is ready. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    this.#unsubscribe = this.#options.jobEvents.on((event) => {
      if (event.kind === 'queued') this.#poke();
      if (event.kind === 'cancelled') this.#dropJob(event.jobId);
    });
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.#options.leaseMs / 3)));
    this.#loop = this.#run();
  }

  /**
   * Stops its runs, stores the outcomes it has and gives every other item it holds back (claimable at once by any
   * replica); resolves when nothing of it runs any more. Call it before the engine is disposed.
   */
  stop(): Promise<void> {
    if (this.#state === 'new') this.#state = 'stopped';
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#unsubscribe?.();
    clearInterval(this.#renewTimer);
    this.#held.abortAll();
    this.#poke();
    await this.#loop;
    await Promise.all(this.#runs);
    await this.#outcomes.close();
    await this.#giveBack(this.#held.ids());
    this.#state = 'stopped';
  }

  async #run(): Promise<void> {
    const { engine: holder } = this.#options;
    while (this.#state === 'running') {
      const engine = holder.ready ? holder.current : undefined;
      if (!engine || Date.now() < this.#pausedUntil) {
        await this.#sleep(engine ? this.#pausedUntil - Date.now() : IDLE_POLL_MS);
        continue;
      }
      try {
        const claimed = await this.#claim(engine);
        this.#dispatch(engine);
        // More may be claimable at once (another job's items); otherwise wait for a slot, a job queued here, or the poll.
        if (claimed === 0 || this.#held.inFlight >= this.#capacity()) await this.#sleep(IDLE_POLL_MS);
      } catch (error) {
        this.#options.logger.error({ err: error }, 'analysis jobs: the runner failed unexpectedly; trying again shortly');
        this.#pausedUntil = Date.now() + RETRY_MS;
      }
    }
  }

  #capacity(): number {
    return this.#options.slots + PREFETCH_ITEMS;
  }

  /** Claims what fits; returns how many items it claimed. */
  async #claim(engine: Engine): Promise<number> {
    const limit = this.#capacity() - this.#held.inFlight;
    if (limit <= 0) return 0;
    let claimed: ClaimedItem[];
    try {
      claimed = await this.#options.repository.claimAnalysisItems({
        worker: this.worker,
        limit,
        leaseMs: this.#options.leaseMs,
      });
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'analysis jobs: claiming items failed; trying again shortly');
      this.#pausedUntil = Date.now() + RETRY_MS;
      return 0;
    }
    if (claimed.length === 0) return 0;
    this.#held.hold(claimed);
    const job = claimed[0]!;
    const missing = missingTasks(engine, job.tasks);
    if (this.#state !== 'running' || missing.length > 0) {
      await this.#giveBack(claimed.map((item) => item.id));
      if (missing.length > 0) await this.#failJob(job.jobId, missing, engine);
      return 0;
    }
    this.#outcomes.jobSeen(job.jobId, job.owner);
    return claimed.length;
  }

  /** Starts waiting items while a slot is free. */
  #dispatch(engine: Engine): void {
    while (this.#state === 'running' && this.#held.running < this.#options.slots) {
      const held = this.#held.startNext();
      if (!held) return;
      const run = this.#runItem(engine, held).finally(() => {
        this.#runs.delete(run);
        held.running = false;
        // The next prefetched item starts now, not after the claim the loop is about to make.
        if (Date.now() >= this.#pausedUntil) this.#dispatch(engine);
        this.#poke();
      });
      this.#runs.add(run);
    }
  }

  /** Never rejects: the item ends as an outcome, is given back, or was dropped (cancelled, lease lost, stopping). */
  async #runItem(engine: Engine, held: HeldItem): Promise<void> {
    const { item, controller } = held;
    try {
      const run = await engine.runTasks(item.text, item.tasks, {
        background: true,
        ...(item.owner === null ? {} : { key: item.owner }),
        signal: controller.signal,
      });
      this.#outcomes.add({ itemId: item.id, results: storedShapeOf(run).taskResults });
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof BadInputError) {
        // This text cannot run (empty, too long for a task): the item fails, the job goes on.
        this.#outcomes.add({ itemId: item.id, error: { code: publicCodeOf(error)!, message: error.message } });
        return;
      }
      const code = publicCodeOf(error);
      if (code !== undefined) {
        // The engine cannot take it now (shutting down, busy): someone runs it later.
        this.#pausedUntil = Date.now() + RETRY_MS;
        await this.#giveBack([item.id]);
        return;
      }
      // A fault of this one item's run, not of its text: it fails masked, so one bad row cannot stall the job.
      const where = { err: error, jobId: item.jobId, itemId: item.id };
      this.#options.logger.error(where, 'analysis jobs: an item failed unexpectedly');
      this.#outcomes.add({ itemId: item.id, error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
    }
  }

  /** Items of a job cancelled here stop at once (the database would drop their outcomes anyway). */
  #dropJob(jobId: string): void {
    void this.#giveBack(this.#held.idsOfJob(jobId));
    this.#outcomes.jobEnded(jobId);
  }

  /** Stops and forgets items, and gives them back to the database (claimable again at once). */
  async #giveBack(itemIds: readonly string[]): Promise<void> {
    if (itemIds.length === 0) return;
    this.#held.drop(itemIds);
    try {
      await this.#options.repository.releaseAnalysisItems(this.worker, itemIds);
    } catch (error) {
      const message = 'analysis jobs: could not give items back; their leases will run out';
      this.#options.logger.warn({ err: error, items: itemIds.length }, message);
    }
  }

  async #failJob(jobId: string, missing: readonly string[], engine: Engine): Promise<void> {
    const names = engine.tasks().map((task) => task.name).join(', ');
    const quoted = missing.map((name) => `"${name}"`).join(', ');
    const message =
      missing.length > 1
        ? `The tasks ${quoted} no longer exist (TASKS_FILE changed); the tasks are ${names}.`
        : `The task ${quoted} no longer exists (TASKS_FILE changed); the tasks are ${names}.`;
    try {
      await this.#options.repository.failAnalysisJob(jobId, { code: TASK_UNAVAILABLE_CODE, message });
      this.#options.logger.warn({ jobId, missing }, 'analysis job failed: a task of it no longer exists');
      this.#options.jobEvents.emit({ jobId, kind: 'progress' });
    } catch (error) {
      this.#options.logger.warn({ err: error, jobId }, 'analysis jobs: could not mark a job failed; trying again later');
      this.#pausedUntil = Date.now() + RETRY_MS;
    }
  }

  /** Keeps the leases of every item held; an item whose lease was lost (taken by another replica) stops here. */
  async #renew(): Promise<void> {
    const ids = this.#held.ids();
    if (ids.length === 0 || this.#state !== 'running') return;
    try {
      const lost = await this.#options.repository.renewAnalysisLeases(this.worker, ids, this.#options.leaseMs);
      if (lost.length === 0) return;
      const message = 'analysis jobs: leases lost (this process was too slow); another replica runs those items';
      this.#options.logger.warn({ items: lost.length }, message);
      this.#held.drop(lost);
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'analysis jobs: renewing leases failed; trying again');
    }
  }

  #poke(): void {
    this.#poked = true;
    this.#wakeUp?.();
  }

  /** Waits `ms`, or less when poked (an item ended, a job was queued here, stopping); a poke before it counts too. */
  #sleep(ms: number): Promise<void> {
    if (this.#poked || this.#state !== 'running') {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        this.#poked = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#wakeUp = done;
    });
  }
}

/** The tasks of a job the engine no longer has. */
function missingTasks(engine: Engine, tasks: readonly string[]): string[] {
  const names = new Set(engine.tasks().map((task) => task.name));
  return tasks.filter((task) => !names.has(task));
}
