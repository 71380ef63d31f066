// A first-come-first-served async mutex: the whole-job gate of `mutexScope: 'job'` (see Scheduler's MutexScope).

type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

export class FifoMutex {
  #locked = false;
  readonly #waiters: Waiter[] = [];

  get locked(): boolean {
    return this.#locked;
  }

  /** Waits for the lock in arrival order; an aborted wait leaves the line and rejects with the signal's reason. */
  acquire(signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve(this.#createRelease());
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async runExclusive<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await work();
    } finally {
      release();
    }
  }

  #createRelease(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.grant(this.#createRelease());
      else this.#locked = false;
    };
  }
}
