// In-process news of analysis jobs (queued, cancelled, items stored), so the runner and progress streams here react at
// once instead of at their next poll; other replicas' changes still reach them by polling the database.

export interface JobEvent {
  jobId: string;
  /** `queued`: started, items may be claimed; `cancelled`: stop its items; `progress`: items of it were stored. */
  kind: 'queued' | 'cancelled' | 'progress';
}

export type JobEventListener = (event: JobEvent) => void;

export class JobEvents {
  readonly #listeners = new Set<JobEventListener>();

  emit(event: JobEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  /** Calls `listener` on every event until the returned function is called. */
  on(listener: JobEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves at the next event `matches` accepts, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  next(matches: (event: JobEvent) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const off = this.on((event) => {
        if (matches(event)) done();
      });
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
