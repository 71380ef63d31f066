// One chat turn at a time per conversation, in arrival order; deleting a conversation stops the turn inside it.

/** What a turn holds while it writes to its conversation; `leave` lets the next turn in. */
export interface ConversationEntry {
  leave(): Promise<void>;
}

export class ConversationTurns {
  /** Per conversation: the promise the next arrival waits for (the last turn in line leaving). */
  readonly #tails = new Map<string, Promise<void>>();
  /** Per conversation: the controller of the turn inside it, aborted when the conversation is deleted. */
  readonly #inside = new Map<string, AbortController>();

  /**
   * Waits until every turn that entered `conversationId` earlier has left, then enters. `turn` is aborted if the
   * conversation is deleted while this turn is inside. Rejects with the signal's reason if it aborts while waiting.
   */
  async enter(conversationId: string, turn: AbortController): Promise<ConversationEntry> {
    const previous = this.#tails.get(conversationId) ?? Promise.resolve();
    let open!: () => void;
    const left = new Promise<void>((resolve) => (open = resolve));
    const tail = previous.then(() => left);
    this.#tails.set(conversationId, tail);
    const leave = async (): Promise<void> => {
      open();
      if (this.#inside.get(conversationId) === turn) this.#inside.delete(conversationId);
      if (this.#tails.get(conversationId) === tail) this.#tails.delete(conversationId);
    };
    try {
      await untilDoneOrAborted(previous, turn.signal);
    } catch (error) {
      // Gave up waiting: the turns behind this one still wait only for those ahead of it.
      void previous.then(leave);
      throw error;
    }
    this.#inside.set(conversationId, turn);
    return { leave };
  }

  /** Stops the turn inside a conversation that was just deleted (its reply has nowhere to go). */
  deleted(conversationId: string, reason: unknown): void {
    this.#inside.get(conversationId)?.abort(reason);
  }
}

function untilDoneOrAborted(done: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void done.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
