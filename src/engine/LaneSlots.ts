// The scheduler's lanes: how many jobs each runs at once, long jobs leaving a slot to short ones, and retry hints.

/** How quickly a lane's job time estimate (behind `retryAfterMs`) follows new jobs. */
const DURATION_SMOOTHING = 0.2;
const MIN_RETRY_AFTER_MS = 100;
const MAX_RETRY_AFTER_MS = 60_000;
/** Before any job of a lane has finished, a guess at how long one takes. */
const FIRST_RETRY_AFTER_MS = 1000;

/** What the lanes need to know of a job. */
export interface SlotHolder {
  readonly lane: string;
  /** May hold its slot for long: a lane with more than one slot runs at most `capacity - 1` of them at once. */
  readonly long: boolean;
  /** Whether the job counts against its lane now (false while queued or yielded). */
  holdsSlot: boolean;
}

export class LaneSlots {
  readonly #capacity: Readonly<Record<string, number>>;
  readonly #load = new Map<string, number>();
  /** Running long jobs, per lane. */
  readonly #longLoad = new Map<string, number>();
  /** Smoothed run time of a lane's jobs, for the retry hint of a refusal. */
  readonly #jobMs = new Map<string, number>();

  constructor(capacity: Readonly<Record<string, number>>) {
    this.#capacity = capacity;
  }

  get lanes(): string[] {
    return Object.keys(this.#capacity);
  }

  has(lane: string): boolean {
    return lane in this.#capacity;
  }

  hasRoom(lane: string): boolean {
    return (this.#load.get(lane) ?? 0) < (this.#capacity[lane] ?? 0);
  }

  /** A long job may start while it leaves a slot of its lane to short ones (a one-slot lane has nothing to leave). */
  longJobHasRoom(lane: string): boolean {
    return (this.#longLoad.get(lane) ?? 0) < Math.max(1, (this.#capacity[lane] ?? 0) - 1);
  }

  take(job: SlotHolder): void {
    job.holdsSlot = true;
    this.#load.set(job.lane, (this.#load.get(job.lane) ?? 0) + 1);
    if (job.long) this.#longLoad.set(job.lane, (this.#longLoad.get(job.lane) ?? 0) + 1);
  }

  release(job: SlotHolder): void {
    if (!job.holdsSlot) return;
    job.holdsSlot = false;
    this.#load.set(job.lane, (this.#load.get(job.lane) ?? 1) - 1);
    if (job.long) this.#longLoad.set(job.lane, (this.#longLoad.get(job.lane) ?? 1) - 1);
  }

  /** A job of `lane` ran for `durationMs`, start to end. */
  recordDuration(lane: string, durationMs: number): void {
    const previous = this.#jobMs.get(lane);
    this.#jobMs.set(lane, previous === undefined ? durationMs : previous + DURATION_SMOOTHING * (durationMs - previous));
  }

  /** About when `ahead` more jobs of the lane will have started: their smoothed run time, shared by the lane's slots. */
  retryAfterMs(lane: string, ahead: number): number {
    const jobMs = this.#jobMs.get(lane) ?? FIRST_RETRY_AFTER_MS;
    const estimate = (jobMs * (ahead + 1)) / (this.#capacity[lane] ?? 1);
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, Math.ceil(estimate / 100) * 100));
  }
}
