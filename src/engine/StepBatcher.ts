// Gathers the evaluation steps of running jobs into cycles: one cycle at a time, one llama.cpp decode per cycle.
import { BackgroundShare } from './BackgroundShare.js';
import { PromptTurns } from './PromptTurns.js';
import { PROMPT_CHUNK_TOKENS } from './syncSequence.js';

/** How a step will use the next decode. */
export interface StepShape {
  /** Tokens the step evaluates (a generated token is 1; a prompt chunk its length). */
  tokens: number;
  /** The next token of a reply being generated: always part of the next cycle, so streams keep their pace. */
  generating: boolean;
  /** The llama.cpp sequence id the step evaluates on: a cycle starts its steps in ascending order of it (see StepBatcher). */
  sequence: number;
  /** One of a streamed reply's first `STARTING_REPLY_TOKENS` tokens (see `#chooseInteractive`). */
  starting?: boolean;
}

/**
 * A streamed reply's first tokens, during which new jobs' leading prompt steps may fill a decode beside it (when
 * every reply in the cycle is this young): eight conversations opened together, whose verdicts end a few decodes
 * apart, then start their replies in one or two decodes instead of one newcomer per decode. A reply past them keeps
 * its pace (the small budget beside it); a young one waits at most this many decodes of a full batch.
 */
export const STARTING_REPLY_TOKENS = 8;

/**
 * Prompt tokens a cycle of background steps may carry while people use the engine (an interactive job ran within
 * the scheduler's in-use window): the decode an arriving interactive job may have to wait for stays short. Background
 * prompts are then evaluated in chunks of this size (see `JobContext.promptChunkTokens`).
 */
export const BACKGROUND_PROMPT_TOKENS_IN_USE = 16;

/**
 * Prompt tokens per step of a long interactive job (see Scheduler) while another key's prompt work ran since it
 * started (within the window), before its own decodes have been timed: that key's next query then finds at most a
 * short decode in its way.
 */
export const LONG_JOB_PROMPT_TOKENS_SHARED = 16;
/** The fewest: below this a decode costs about the same whatever it carries (the weights are read once per decode). */
export const LONG_JOB_PROMPT_TOKENS_MIN = 8;
/**
 * What a long job's decode should take while it shares the engine: about a short query's own decode. A chunk's cost
 * grows with its position, not only its size (measured on the stand-in, 2 cores: 16 tokens took 35 ms at the start
 * of a text and 114 ms 1,024 tokens in), so the next chunk is sized from the last one's time. Only work of another
 * key since the job started counts: without API keys every operation is a key of its own, and a client's operations
 * one after another must not shrink each other's chunks.
 */
export const SHARED_DECODE_TARGET_MS = 50;

/** The most: three quarters of the usual chunk, so a long text's first chunks, near its start, stay short too. */
export const LONG_JOB_PROMPT_TOKENS_MAX = (PROMPT_CHUNK_TOKENS * 3) / 4;

/** The next chunk of a long job sharing the engine, from its last prompt decode (tokens and time). */
export function sharedChunkTokens(last: { tokens: number; ms: number } | undefined): number {
  if (!last || last.tokens === 0 || last.ms <= 0) return LONG_JOB_PROMPT_TOKENS_SHARED;
  const sized = Math.floor((last.tokens * SHARED_DECODE_TARGET_MS) / last.ms);
  return Math.min(LONG_JOB_PROMPT_TOKENS_MAX, Math.max(LONG_JOB_PROMPT_TOKENS_MIN, sized));
}

/**
 * A job's first prompt tokens go ahead of other keys' prompt work that is further on: a short query (up to four
 * 32-token decodes, what `taskBatch` counts as short, a saved state's load included) finishes in back-to-back decodes
 * instead of waiting for another key's decode between its chunks, however much the engine its key has used lately.
 * A long job or a chat's prompt gets the same head start, then takes its fair turns.
 */
export const LEADING_PROMPT_TOKENS = 128;

/**
 * How much less recent engine time a key must have had than every other waiting key for its leading steps to take a
 * decode beside replies alone: about two short queries' decodes.
 */
export const LIGHT_KEY_MARGIN_MS = 100;

/**
 * What interactive work the scheduler has: `busy` — a job runs or waits; `recent` — none now, but one ran within the
 * in-use window; `quiet` — none for longer.
 */
export type InteractiveActivity = 'busy' | 'recent' | 'quiet';

export interface StepBatcherOptions {
  /**
   * Prompt tokens one cycle may add while replies are generating: a new prompt is evaluated a chunk per cycle
   * beside them instead of holding them up. At least one prompt step joins every cycle, whatever its size.
   */
  promptTokensBesideReplies: number;
  /** Prompt tokens one cycle may carry when nothing is generating (the decode's batch size). */
  promptTokensAlone: number;
  /**
   * The fraction of busy decode time owed to background steps that wait (0 to 0.5; default 0: spare capacity only).
   * Once they are owed a small decode's time (see BackgroundShare), one cycle carries background steps alone, at most
   * `BACKGROUND_PROMPT_TOKENS_IN_USE` prompt tokens (at least one step: one asked for while the engine was quiet may
   * be a usual 32-token chunk), however busy the engine is.
   */
  backgroundShare?: number;
  /**
   * Throwaway tokens for the gaps between a cycle's sequences when every step evaluates one token (replies, mostly):
   * llama.cpp decodes single tokens on consecutive sequences in one pass, and a gap costs a pass more (see GapFillers).
   * Unset: no fillers.
   */
  gapFillers?: (sequences: readonly number[]) => GapFilling | undefined;
}

/** A throwaway evaluation on an idle sequence, started in the cycle beside its steps. */
export interface GapFill {
  sequence: number;
  run(): Promise<void>;
}

/** A cycle's fillers; `giveBack` is called once they have all settled. */
export interface GapFilling {
  fills: readonly GapFill[];
  giveBack(): void;
}

export interface CycleReport {
  /** Steps that ran together in the cycle, how many of them were generated tokens, and how many background steps. */
  steps: number;
  /** Decodes the cycle took: 2 when it carried prompt chunks and single tokens, the chunks first (see `StepBatcher`). */
  decodes: number;
  generating: number;
  background: number;
  tokens: number;
  /** A cycle of background steps taken for their minimum share while interactive work kept the engine busy. */
  owed: boolean;
  /** From the start of its steps to the last one settled (the decode, and whatever its steps did around it). */
  ms: number;
  /** The sequence ids of the steps, ascending (a step evaluating nothing included). */
  sequences: readonly number[];
  /** Throwaway tokens the decode also carried, on idle sequences in the gaps (see `StepBatcherOptions.gapFillers`). */
  fillers: number;
}

interface PendingStep {
  readonly shape: StepShape;
  /** Whose job asked for it (an API key's fingerprint, or an operation's own key). */
  readonly key: string | undefined;
  /** A step of background work (see `SubmitOptions.background`). */
  readonly background: boolean;
  /** A step within its job's first `LEADING_PROMPT_TOKENS` prompt tokens (see `#chooseInteractive`). */
  readonly leading: boolean;
  readonly run: () => Promise<unknown>;
  settle(outcome: PromiseSettledResult<unknown>): void;
  detach(): void;
}

/**
 * Every step waiting when a cycle starts is considered: all generated tokens (a reply's pace never waits), then the
 * prompt steps of one key — the key whose prompt work took the least engine time recently (see PromptTurns) — in the
 * order they came, within the cycle's prompt budget; then, unless that key is far lighter than every other waiting
 * one, further keys in that order fill the rest of the budget (beside generated tokens: the small budget; alone: the
 * batch, with their jobs' leading steps only). This keeps fairness while jobs run, not only at admission: a
 * newcomer's short prompt is evaluated in the very next cycle, on its own, however much prompt work a busier key has
 * queued (a decode's time grows with the prompt tokens it carries, so sharing it would cost the newcomer the other
 * key's chunk too), while many new jobs of keys on a par (conversations opened at once) share one decode.
 * The chosen steps start together; their evaluations reach the context in the same turn of the event loop, so
 * llama.cpp decodes them as one batch. They start in ascending order of their sequence ids:
 * node-llama-cpp lays the batch out in the order the evaluations reach it, and with a KV cache per sequence (its
 * layout) llama.cpp splits a batch into passes over the weights (ubatches) that each take only consecutive sequence
 * ids in ascending order, so replies listed 3,4,6,7,5,8,2,9 cost three passes where 2–9 in order cost one. Replies'
 * tokens reach it after the same number of turns, so they keep this order; a prompt step's path may take a turn more
 * (and a prompt of several tokens takes passes of its own anyway). The next cycle starts only when every step of this
 * one has settled and the jobs that got a result have had a turn to ask for their next step.
 *
 * A cycle that carries both prompt chunks (several tokens on a sequence) and single tokens (replies' tokens, mostly)
 * decodes them one after the other, the chunks first, and settles the chunks' steps as soon as theirs ends. In one
 * batch llama.cpp would evaluate them in separate passes anyway (its passes take the same number of tokens from each
 * sequence), so the single tokens come no later, while a query's chunk beside a stream ends a pass sooner: in
 * node-llama-cpp alone a 32-token chunk took 50.8 ms, a reply's token 25.6 ms, and both in one decode 83.6 ms. The
 * single tokens' decode may then carry gap fillers too.
 *
 * Background steps (work nobody waits for) join a cycle only when no interactive step waits and no interactive job
 * runs or waits, so an arriving interactive job waits at most for the one background decode in flight, and never
 * shares a decode with background work (a reply's tokens included). While the engine is in use such a cycle carries
 * at most `BACKGROUND_PROMPT_TOKENS_IN_USE` prompt tokens (at least one step); when it is quiet, the background
 * steps of every key, in fair order, up to the batch size: several background sequences in one decode. Background
 * keys take their fair turns among themselves, apart from the interactive ones. One exception keeps them from
 * waiting for ever on an engine that is never idle: with a background share, waiting background steps are owed that
 * fraction of the interactive decodes' time, and once they are owed a small decode's worth they take a cycle of their
 * own (`BACKGROUND_PROMPT_TOKENS_IN_USE` prompt tokens at most) between two interactive ones.
 */
export class StepBatcher {
  readonly #options: StepBatcherOptions;
  readonly #activity: () => InteractiveActivity;
  /** How long after another key's prompt work a long job's chunks stay small. */
  readonly #sharedWindowMs: number;
  readonly #pending: PendingStep[] = [];
  readonly #onCycle: ((report: CycleReport) => void) | undefined;
  readonly #interactiveTurns = new PromptTurns();
  readonly #backgroundTurns = new PromptTurns();
  readonly #backgroundShare: BackgroundShare;
  #cycling = false;

  constructor(
    options: StepBatcherOptions,
    activity: () => InteractiveActivity,
    onCycle?: (report: CycleReport) => void,
    sharedWindowMs = 1000,
  ) {
    this.#options = options;
    this.#backgroundShare = new BackgroundShare(options.backgroundShare ?? 0);
    this.#sharedWindowMs = sharedWindowMs;
    this.#activity = activity;
    this.#onCycle = onCycle;
  }

  /** Steps waiting for a cycle. */
  get waiting(): number {
    return this.#pending.length;
  }

  /** How many prompt tokens a background job's step should evaluate now; undefined: the usual chunk. */
  get backgroundPromptChunk(): number | undefined {
    return this.#activity() === 'quiet' ? undefined : BACKGROUND_PROMPT_TOKENS_IN_USE;
  }

  /**
   * How many prompt tokens a step of `key`'s long interactive job, running since `startedAt` (performance.now()),
   * should evaluate now, given its last prompt decode; undefined: the usual chunk (no other key's prompt work since
   * the job started, within the window).
   */
  sharedPromptChunk(
    key: string | undefined,
    last: { tokens: number; ms: number } | undefined,
    startedAt: number,
  ): number | undefined {
    const since = Math.max(startedAt, performance.now() - this.#sharedWindowMs);
    return this.#interactiveTurns.othersSince(key, since) ? sharedChunkTokens(last) : undefined;
  }

  /**
   * Runs `work` in a coming cycle; an abort of `signal` before then rejects with its reason and runs nothing.
   * `key` says whose job it is, for fair turns of prompt work; `background`, that nobody waits for it.
   */
  step<T>(
    work: () => Promise<T>,
    shape: StepShape,
    signal: AbortSignal,
    owner: { key?: string | undefined; background?: boolean; leading?: boolean } = {},
  ): Promise<T> {
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
        key: owner.key,
        background: owner.background === true,
        leading: owner.leading === true,
        run: work,
        settle: (outcome) => (outcome.status === 'fulfilled' ? resolve(outcome.value as T) : reject(outcome.reason)),
        detach: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(pending);
      this.#schedule();
    });
  }

  /** The scheduler's interactive work has ended: background steps held back may now have their cycle. */
  wake(): void {
    if (this.#pending.length > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#cycling) return;
    this.#cycling = true;
    // After this turn of the event loop: every job that is about to ask for a step has asked.
    setImmediate(() => void this.#cycle());
  }

  async #cycle(): Promise<void> {
    const { chosen, owed } = this.#choose();
    if (chosen.length === 0) {
      // Only background steps wait, behind interactive jobs that are between steps: a new step or `wake` comes next.
      this.#cycling = false;
      return;
    }
    for (const step of chosen) step.detach();
    const ordered = inBatchOrder(chosen);
    const phases = decodePhases(ordered);
    const startedAt = performance.now();
    let fillers = 0;
    for (const phase of phases) {
      const filling = this.#gapFilling(phase);
      const phaseStartedAt = performance.now();
      const { steps, fills } = startInBatchOrder(phase, filling?.fills ?? []);
      const outcomes = await Promise.allSettled(steps);
      // A filler's erase waits for the whole decode (node-llama-cpp's context lock), so it ends with the steps.
      await Promise.allSettled(fills);
      filling?.giveBack();
      fillers += filling?.fills.length ?? 0;
      this.#charge(phase, performance.now() - phaseStartedAt);
      // Settled together, in the order they ran: the jobs then ask for their next steps in that same order, so the
      // next decode's batch is laid out the same way whatever order llama.cpp finished in (a reply's tokens at
      // temperature 0 must not depend on it). A first phase's jobs ask while the second decodes: their steps wait.
      phase.forEach((step, index) => step.settle(outcomes[index]!));
    }
    const elapsedMs = performance.now() - startedAt;
    const background = chosen.filter((step) => step.background).length;
    if (background > 0) this.#backgroundShare.served(elapsedMs, owed);
    else if (this.#pending.some((step) => step.background)) this.#backgroundShare.heldBack(elapsedMs);
    this.#onCycle?.({
      steps: chosen.length,
      decodes: phases.length,
      generating: chosen.filter((step) => step.shape.generating).length,
      background,
      tokens: chosen.reduce((sum, step) => sum + step.shape.tokens, 0),
      owed,
      ms: elapsedMs,
      sequences: ordered.map((step) => step.shape.sequence),
      fillers,
    });
    this.#cycling = false;
    if (this.#pending.length > 0) this.#schedule();
  }

  #choose(): { chosen: PendingStep[]; owed: boolean } {
    const activity = this.#activity();
    const interactive = this.#pending.filter((step) => !step.background);
    const background = this.#pending.filter((step) => step.background);
    const busy = interactive.length > 0 || activity === 'busy';
    const owed = busy && background.length > 0 && this.#backgroundShare.due;
    const chosen = owed
      ? this.#chooseBackground(background, 'recent')
      : busy
        ? this.#chooseInteractive(interactive)
        : this.#chooseBackground(background, activity);
    const picked = new Set(chosen);
    for (let index = this.#pending.length - 1; index >= 0; index -= 1) {
      if (picked.has(this.#pending[index]!)) this.#pending.splice(index, 1);
    }
    const waiting = new Set(this.#pending.map((step) => step.key));
    this.#interactiveTurns.forgetIdle(waiting);
    this.#backgroundTurns.forgetIdle(waiting);
    return { chosen, owed };
  }

  /**
   * Alone, a decode carries one key's prompt work; beside replies (which ride in every decode anyway) it takes the
   * keys in fair order until the small budget is spent, so new replies' prompts are not held a decode each.
   */
  #chooseInteractive(steps: readonly PendingStep[]): PendingStep[] {
    const generating = steps.filter((step) => step.shape.generating);
    const prompts = steps.filter((step) => !step.shape.generating);
    // Steps that decode nothing (a saved state's load) take a cycle of their own, a millisecond before the next
    // decode: beside replies they would wait for a whole decode, and the query behind them with it.
    const noDecode = prompts.filter((step) => step.shape.tokens === 0);
    if (noDecode.length > 0) return noDecode;
    const inTurn = this.#interactiveTurns.ranked(keysOf(prompts));
    // Keys with a job's leading steps first (in their fair order), then the rest.
    const leading = new Set(prompts.filter((step) => step.leading).map((step) => step.key));
    const ranked = [...inTurn.filter(({ key }) => leading.has(key)), ...inTurn.filter(({ key }) => !leading.has(key))];
    const keys = ranked.map(({ key }) => key);
    // A light key's leading steps (a person's query behind a flood) take the decode alone, or beside the replies'
    // tokens only, so it stays short.
    const [first, ...others] = ranked;
    const light =
      first !== undefined &&
      leading.has(first.key) &&
      others.every(({ standing }) => standing - first.standing >= LIGHT_KEY_MARGIN_MS);
    // Keys on a par (many new conversations at once) add their leading steps, up to the batch: one decode of all
    // their prompts takes far less than a decode each. Another key's further-on work (a long job's later chunks)
    // never joins, so it cannot lengthen a newcomer's decode.
    const joining = prompts.filter((step) => step.leading);
    if (generating.length === 0) {
      const alone = this.#fill([], prompts, keys.slice(0, 1), this.#options.promptTokensAlone);
      if (light) return alone;
      return this.#fill(alone, joining, keys.slice(1), this.#options.promptTokensAlone);
    }
    // Replies that have all only just started (a burst of new conversations): the newcomers' leading steps fill the
    // batch beside them, as they would have alone had they come a decode sooner.
    if (!light && joining.length > 0 && generating.every((step) => step.shape.starting === true)) {
      return this.#fill(generating, joining, keys, this.#options.promptTokensAlone);
    }
    // Beside the replies, keys on a par share the small prompt budget, which gets all their prompts through sooner.
    const besideReplies = light ? keys.slice(0, 1) : keys;
    return this.#fill(generating, prompts, besideReplies, this.#options.promptTokensBesideReplies);
  }

  /** Fillers when every step evaluates one token on a sequence of its own and their ids leave gaps. */
  #gapFilling(ordered: readonly PendingStep[]): GapFilling | undefined {
    const fill = this.#options.gapFillers;
    if (!fill || ordered.length < 2 || ordered.some((step) => step.shape.tokens !== 1)) return undefined;
    const sequences = ordered.map((step) => step.shape.sequence);
    const gaps = sequences.some((id, index) => index > 0 && id - sequences[index - 1]! > 1);
    return gaps ? fill(sequences) : undefined;
  }

  /** Every background step is prompt-like work here (an extraction's generated token costs its one token). */
  #chooseBackground(steps: readonly PendingStep[], activity: InteractiveActivity): PendingStep[] {
    const budget = activity === 'quiet' ? this.#options.promptTokensAlone : BACKGROUND_PROMPT_TOKENS_IN_USE;
    const keys = this.#backgroundTurns.inOrder(keysOf(steps));
    return this.#fill([], steps, keys, budget);
  }

  /**
   * Adds the steps of `keys`, key after key, each key's in the order they came, until `budget` prompt tokens (those
   * already in `chosen` included; at least one step).
   */
  #fill(
    chosen: PendingStep[],
    steps: readonly PendingStep[],
    keys: readonly (string | undefined)[],
    budget: number,
  ): PendingStep[] {
    let promptTokens = chosen.reduce((sum, step) => sum + (step.shape.generating ? 0 : step.shape.tokens), 0);
    for (const key of keys) {
      for (const step of steps) {
        if (step.key !== key) continue;
        if (promptTokens > 0 && promptTokens + step.shape.tokens > budget) return chosen;
        chosen.push(step);
        promptTokens += step.shape.tokens;
      }
    }
    return chosen;
  }

  /**
   * Charges each key of the cycle's prompt steps its share of the decode's time, by the tokens its steps carried (a
   * step evaluating nothing counts one; a reply's generated token takes its share uncharged). Time, not tokens: a
   * chunk deep in a long prompt costs several times one near its start, and the engine's time is what keys share.
   */
  #charge(chosen: readonly PendingStep[], elapsedMs: number): void {
    const weight = (step: PendingStep): number => Math.max(1, step.shape.tokens);
    const total = chosen.reduce((sum, step) => sum + weight(step), 0);
    for (const step of chosen) {
      if (step.shape.generating && !step.background) continue;
      (step.background ? this.#backgroundTurns : this.#interactiveTurns).charge(step.key, (elapsedMs * weight(step)) / total);
    }
  }
}

/**
 * One decode, or two when prompt chunks (several tokens) and single tokens ride in one cycle: the chunks first, then
 * the single tokens, each in `ordered`'s order.
 */
function decodePhases(ordered: readonly PendingStep[]): (readonly PendingStep[])[] {
  const chunks = ordered.filter((step) => step.shape.tokens > 1);
  const singles = ordered.filter((step) => step.shape.tokens <= 1);
  return chunks.length > 0 && singles.length > 0 ? [chunks, singles] : [ordered];
}

/** The steps in ascending order of their sequence ids (steps on one sequence in the order chosen). */
function inBatchOrder(steps: readonly PendingStep[]): PendingStep[] {
  return [...steps].sort((a, b) => a.shape.sequence - b.shape.sequence);
}

/**
 * Starts the steps and the fillers together, in ascending order of their sequence ids (steps on one sequence in
 * `ordered`'s order): node-llama-cpp lays its batch out in the order the evaluations reach it, unless patched to sort
 * it. Gives back the steps' promises in `ordered`'s order, and the fillers'.
 */
function startInBatchOrder(
  ordered: readonly PendingStep[],
  fills: readonly GapFill[],
): { steps: Promise<unknown>[]; fills: Promise<void>[] } {
  // Most cycles have no fillers: `ordered` is already in batch order.
  if (fills.length === 0) return { steps: ordered.map((step) => step.run()), fills: [] };
  const started = new Map<PendingStep | GapFill, Promise<unknown>>();
  const all: (PendingStep | GapFill)[] = [...ordered, ...fills];
  const sequenceOf = (item: PendingStep | GapFill): number => ('shape' in item ? item.shape.sequence : item.sequence);
  for (const item of [...all].sort((a, b) => sequenceOf(a) - sequenceOf(b))) started.set(item, item.run());
  return {
    steps: ordered.map((step) => started.get(step)!),
    fills: fills.map((fill) => started.get(fill)! as Promise<void>),
  };
}

/** The keys of `steps`, in the order their first steps came. */
function keysOf(steps: readonly PendingStep[]): (string | undefined)[] {
  const keys: (string | undefined)[] = [];
  for (const step of steps) if (!keys.includes(step.key)) keys.push(step.key);
  return keys;
}
