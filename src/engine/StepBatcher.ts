// Gathers the evaluation steps of running jobs into cycles: one cycle at a time, one llama.cpp decode per cycle.

/** How a step will use the next decode. */
export interface StepShape {
  /** Tokens the step evaluates (a generated token is 1; a prompt chunk its length). */
  tokens: number;
  /** The next token of a reply being generated: always part of the next cycle, so streams keep their pace. */
  generating: boolean;
}

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
  readonly run: () => Promise<unknown>;
  settle(outcome: PromiseSettledResult<unknown>): void;
  detach(): void;
}

/**
 * Every step waiting when a cycle starts is considered: all generated tokens, then prompt steps in the order they
 * came, within the cycle's prompt budget. The chosen steps start together; their evaluations reach the context in
 * the same turn of the event loop, so llama.cpp decodes them as one batch. The next cycle starts only when every
 * step of this one has settled and the jobs that got a result have had a turn to ask for their next step.
 */
export class StepBatcher {
  readonly #options: StepBatcherOptions;
  readonly #pending: PendingStep[] = [];
  readonly #onCycle: ((report: CycleReport) => void) | undefined;
  #cycling = false;

  constructor(options: StepBatcherOptions, onCycle?: (report: CycleReport) => void) {
    this.#options = options;
    this.#onCycle = onCycle;
  }

  /** Steps waiting for a cycle. */
  get waiting(): number {
    return this.#pending.length;
  }

  /** Runs `work` in a coming cycle; an abort of `signal` before then rejects with its reason and runs nothing. */
  step<T>(work: () => Promise<T>, shape: StepShape, signal: AbortSignal): Promise<T> {
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
    chosen.forEach((step, index) => step.settle(outcomes[index]!));
    this.#cycling = false;
    if (this.#pending.length > 0) this.#schedule();
  }

  #choose(): PendingStep[] {
    const generating = this.#pending.filter((step) => step.shape.generating);
    const budget = generating.length > 0 ? this.#options.promptTokensBesideReplies : this.#options.promptTokensAlone;
    const chosen = [...generating];
    let promptTokens = 0;
    for (const step of this.#pending) {
      if (step.shape.generating) continue;
      if (promptTokens > 0 && promptTokens + step.shape.tokens > budget) break;
      chosen.push(step);
      promptTokens += step.shape.tokens;
    }
    const picked = new Set(chosen);
    for (let index = this.#pending.length - 1; index >= 0; index -= 1) {
      if (picked.has(this.#pending[index]!)) this.#pending.splice(index, 1);
    }
    return chosen;
  }
}
