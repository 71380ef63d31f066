// Remembers why the last write failed for a condition of the database (locked, full, read-only, I/O) until one succeeds.

/**
 * A write failure is a fact about the database, not about one request: /readyz reports it (so a balancer sends the
 * traffic elsewhere) until a write succeeds again — a client's, or the readiness probe's own.
 */
export class WriteHealth {
  readonly #reasonOf: (error: unknown) => string | undefined;
  #failure: string | undefined;

  /** `reasonOf` names a condition of the database (never a path or a credential), or returns undefined for others. */
  constructor(reasonOf: (error: unknown) => string | undefined) {
    this.#reasonOf = reasonOf;
  }

  /** Records `error` when it is a condition of the database; other errors (a constraint, a bug) change nothing. */
  failed(error: unknown): void {
    this.#failure = this.#reasonOf(error) ?? this.#failure;
  }

  succeeded(): void {
    this.#failure = undefined;
  }

  /**
   * The remembered failure, unless `probe` (a write of its own) now succeeds. A probe runs only while a failure is
   * remembered, so readiness checks never write to a healthy database.
   */
  async check(probe: () => Promise<void> | void): Promise<string | undefined> {
    if (this.#failure === undefined) return undefined;
    try {
      await probe();
    } catch (error) {
      this.failed(error);
      return this.#failure;
    }
    this.#failure = undefined;
    return undefined;
  }
}
