// Gathers the evaluation steps of running jobs into cycles: one cycle at a time, one llama.cpp decode per cycle.

/** How a step will use the next decode. */
export interface StepShape {
  /** Tokens the step evaluates (a generated token is 1; a prompt chunk its length). */
  tokens: number;
  /** The next token of a reply being generated: always part of the next cycle, so streams keep their pace. */
  generating: boolean;
}

/** How far below the least served waiting key a key that starts waiting is placed: about one short text. */
const NEWCOMER_CREDIT_TOKENS = 64;

/** Keys remembered for fair turns before idle ones are forgotten (a forgotten key counts as never served). */
const MAX_REMEMBERED_KEYS = 256;

export interface StepBatcherOptions {
  /**
   * Prompt tokens one cycle may add while replies are generating: a new prompt is evaluated a chunk per cycle
   * beside them instead of holding them up. At least one prompt step joins every cycle, whatever its size.
   */
  promptTokensBesideReplies: number;
  /** Prompt tokens one cycle may carry when nothing is generating (the decode's batch size). */
  promptTokensAlone: number;
}

export interface CycleReport {
  /** Steps that ran together in the cycle, and how many of them were generated tokens. */
  steps: number;
  generating: number;
  tokens: number;
}

interface PendingStep {
  readonly shape: StepShape;
  /** Whose job asked for it (an API key's fingerprint, or an operation's own key). */
  readonly key: string | undefined;
  readonly run: () => Promise<unknown>;
  settle(outcome: PromiseSettledResult<unknown>): void;
  detach(): void;
}

/**
 * Every step waiting when a cycle starts is considered: all generated tokens (a reply's pace never waits), then the
 * prompt steps of one key — the key that has had the fewest prompt tokens evaluated, fair queuing by tokens — in the
 * order they came, within the cycle's prompt budget (beside generated tokens, further keys in that order fill the
 * rest of the small budget). One key's prompt work per cycle keeps fairness while jobs run,
 * not only at admission: a newcomer's short prompt is evaluated in the very next cycle, on its own, however much
 * prompt work another key has queued (a decode's time grows with the prompt tokens it carries, so sharing it would
 * cost the newcomer the other key's chunk too). The chosen steps start together; their evaluations reach the context in the same turn of
 * the event loop, so llama.cpp decodes them as one batch. The next cycle starts only when every step of this one
 * has settled and the jobs that got a result have had a turn to ask for their next step.
 */
export class StepBatcher {
  readonly #options: StepBatcherOptions;
  readonly #pending: PendingStep[] = [];
  readonly #onCycle: ((report: CycleReport) => void) | undefined;
  #cycling = false;
  /**
   * Prompt tokens each key has had evaluated (a step that evaluates nothing counts one), on a shared scale: a key that
   * starts waiting again is moved up to just below the key served last (`#clock`), so idle time earns no credit and
   * old work earns no debt. Keys are few (API keys) or short-lived (operations).
   */
  readonly #served = new Map<string | undefined, number>();
  /** The count of the key whose prompt work ran last. */
  #clock = 0;
  /** Keys whose prompt steps were waiting at the previous choice. */
  #wasWaiting = new Set<string | undefined>();

  constructor(options: StepBatcherOptions, onCycle?: (report: CycleReport) => void) {
    this.#options = options;
    this.#onCycle = onCycle;
  }

  /** Steps waiting for a cycle. */
  get waiting(): number {
    return this.#pending.length;
  }

  /**
   * Runs `work` in a coming cycle; an abort of `signal` before then rejects with its reason and runs nothing.
   * `key` says whose job it is, for fair turns of prompt work.
   */
  step<T>(work: () => Promise<T>, shape: StepShape, signal: AbortSignal, key?: string): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#pending.indexOf(pending);
        if (index < 0) return;
        this.#pending.splice(index, 1);
        reject(signal.reason);
      };
      const pending: PendingStep = {
        shape,
        key,
        run: work,
        settle: (outcome) => (outcome.status === 'fulfilled' ? resolve(outcome.value as T) : reject(outcome.reason)),
        detach: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(pending);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#cycling) return;
    this.#cycling = true;
    // After this turn of the event loop: every job that is about to ask for a step has asked.
    setImmediate(() => void this.#cycle());
  }

  async #cycle(): Promise<void> {
    const chosen = this.#choose();
    for (const step of chosen) step.detach();
    const outcomes = await Promise.allSettled(chosen.map((step) => step.run()));
    this.#onCycle?.({
      steps: chosen.length,
      generating: chosen.filter((step) => step.shape.generating).length,
      tokens: chosen.reduce((sum, step) => sum + step.shape.tokens, 0),
    });
    // Settled together, in the order chosen: the jobs then ask for their next steps in that same order, so the next
    // decode's batch is laid out the same way whatever order llama.cpp finished in (a reply's tokens at temperature 0
    // must not depend on it).
    chosen.forEach((step, index) => step.settle(outcomes[index]!));
    this.#cycling = false;
    if (this.#pending.length > 0) this.#schedule();
  }

  #choose(): PendingStep[] {
    const generating = this.#pending.filter((step) => step.shape.generating);
    const budget = generating.length > 0 ? this.#options.promptTokensBesideReplies : this.#options.promptTokensAlone;
    const chosen = [...generating];
    // Alone, a decode carries one key's prompt work; beside replies (which ride in every decode anyway) it takes the
    // keys in fair order until the small budget is spent, so new replies' prompts are not held a decode each.
    const keys = this.#promptKeysInOrder();
    let promptTokens = 0;
    fill: for (const key of generating.length > 0 ? keys : keys.slice(0, 1)) {
      let cost = 0;
      for (const step of this.#pending) {
        if (step.shape.generating || step.key !== key) continue;
        if (promptTokens > 0 && promptTokens + step.shape.tokens > budget) {
          this.#charge(key, cost);
          break fill;
        }
        chosen.push(step);
        promptTokens += step.shape.tokens;
        cost += Math.max(1, step.shape.tokens);
      }
      this.#charge(key, cost);
    }
    const picked = new Set(chosen);
    for (let index = this.#pending.length - 1; index >= 0; index -= 1) {
      if (picked.has(this.#pending[index]!)) this.#pending.splice(index, 1);
    }
    this.#forgetIdleKeys();
    return chosen;
  }

  /**
   * The waiting keys, the one with the fewest prompt tokens evaluated first (ties: whose step came first). A key that was not
   * waiting at the previous choice starts a little below the key served last — a newcomer goes first, and its next
   * steps (a saved state's load, then its text) follow without another key's decode in between — unless its own
   * recent work already put it further on.
   */
  #promptKeysInOrder(): (string | undefined)[] {
    const waiting: (string | undefined)[] = [];
    for (const step of this.#pending) if (!step.shape.generating && !waiting.includes(step.key)) waiting.push(step.key);
    for (const key of waiting) {
      if (this.#wasWaiting.has(key)) continue;
      const start = this.#clock - NEWCOMER_CREDIT_TOKENS;
      this.#served.set(key, Math.max(this.#served.get(key) ?? start, start));
    }
    this.#wasWaiting = new Set(waiting);
    // A stable sort: ties keep the order their first steps came in.
    return waiting.sort((a, b) => (this.#served.get(a) ?? 0) - (this.#served.get(b) ?? 0));
  }

  #charge(key: string | undefined, cost: number): void {
    if (cost === 0) return;
    this.#clock = (this.#served.get(key) ?? this.#clock) + cost;
    this.#served.set(key, this.#clock);
  }

  /** Keys with nothing waiting are forgotten once the map grows, so per-operation keys cannot pile up. */
  #forgetIdleKeys(): void {
    if (this.#served.size <= MAX_REMEMBERED_KEYS) return;
    const waiting = new Set(this.#pending.map((step) => step.key));
    for (const key of this.#served.keys()) if (!waiting.has(key)) this.#served.delete(key);
  }
}
