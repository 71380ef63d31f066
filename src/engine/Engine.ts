// The single inference engine: one model, every task by prompt, every evaluation through the scheduler.
import type { Llama, LlamaContext } from 'node-llama-cpp';
import { checkChat, startChat } from './chat/chatJob.js';
import type { ChatStream } from './chat/ChatStream.js';
import { complete, type CompleteOptions } from './complete.js';
import type { EngineRuntime } from './EngineRuntime.js';
import {
  chatSequenceCount,
  kvCacheOptions,
  loadOptionsOf,
  PROMPT_TOKENS_BESIDE_REPLIES,
  resolveEngineOptions,
  type EngineOptions,
  type ResolvedEngineOptions,
} from './EngineOptions.js';
import { ModelUnavailableError } from './errors.js';
import { loadModel, type ModelSource } from './loadModel.js';
import { PrefixStates } from './PrefixStates.js';
import type { PromptPart } from './prompts.js';
import { Scheduler } from './Scheduler.js';
import { GapFillers } from './GapFillers.js';
import { SequencePool } from './SequencePool.js';
import { takeSequences } from './sequenceIds.js';
import { stateCacheKey } from './stateCache.js';
import type { CycleReport } from './StepBatcher.js';
import { checkTaskBatch, runTaskBatch } from './taskBatch.js';
import type { TaskDefinition } from './tasks/definitions.js';
import { loadTaskDefinitions, TaskDefinitionError } from './tasks/loadTaskDefinitions.js';
import { TaskRegistry, type TaskInfo } from './tasks/TaskRegistry.js';
import { TokenRateMeter } from './TokenRateMeter.js';
import type { ChatRequest, Completion, EngineStatus, JobOptions, TaskRun, TaskRunOptions } from './types.js';
import { warmUp } from './warmUp.js';

/** What `load` made: the runtime the jobs share, and what only loading, status and dispose need. */
interface EngineParts {
  llama: Llama;
  context: LlamaContext;
  source: ModelSource;
  build: 'native' | 'prebuilt';
  prefixStates: PrefixStates;
  loadMs: number;
}

export class Engine {
  readonly #parts: EngineParts;
  readonly #runtime: EngineRuntime;
  readonly #cycles = { decodes: 0, steps: 0 };
  #disposed = false;

  private constructor(parts: EngineParts, runtime: Omit<EngineRuntime, 'scheduler' | 'taskPool' | 'chatPool' | 'backgroundPool' | 'meter' | 'contextSize'>) {
    this.#parts = parts;
    const { context } = parts;
    const { options } = runtime;
    const taskPool = new SequencePool(takeSequences(context, options.taskSequences));
    const chatPool = new SequencePool(takeSequences(context, chatSequenceCount(options)));
    const backgroundPool = new SequencePool(takeSequences(context, options.backgroundSequences));
    const gapFillers = options.fillGaps ? new GapFillers([taskPool, chatPool, backgroundPool], context.contextSize) : undefined;
    this.#runtime = {
      ...runtime,
      contextSize: context.contextSize,
      meter: new TokenRateMeter(),
      taskPool,
      chatPool,
      backgroundPool,
      scheduler: new Scheduler({
        maxQueue: options.maxQueue,
        maxQueuePerKey: options.maxQueuePerKey,
        jobTimeoutMs: options.jobTimeoutMs,
        laneCapacity: { task: options.taskSequences, chat: options.maxParallelReplies, background: options.backgroundSequences },
        mutexScope: options.mutexScope,
        batching: {
          promptTokensBesideReplies: PROMPT_TOKENS_BESIDE_REPLIES,
          promptTokensAlone: options.batchSize,
          backgroundShare: options.backgroundSharePercent / 100,
          ...(gapFillers ? { gapFillers: (sequences: readonly number[]) => gapFillers.fill(sequences) } : {}),
        },
        onCycle: (report: CycleReport) => {
          this.#cycles.decodes += report.decodes;
          this.#cycles.steps += report.steps;
          try {
            runtime.hooks.onCycle?.(report);
          } catch (error) {
            runtime.hooks.onWarning?.(`onCycle failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        },
      }),
    };
  }

  static async load(options: EngineOptions): Promise<Engine> {
    const startedAt = performance.now();
    const resolved = resolveEngineOptions(options);
    const { llama, model, source, build } = await loadModel(loadOptionsOf(resolved, options));
    let engine: Engine | undefined;
    let prefixStates: PrefixStates | undefined;
    try {
      prefixStates = await openPrefixStates(resolved, options, { llama, source, build });
      const registry = await TaskRegistry.create(model, llama, prefixStates, options.tasks ?? loadTaskDefinitions(), {
        contextSize: resolved.contextSize,
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
      const context = await model.createContext({
        contextSize: resolved.contextSize,
        batchSize: Math.min(resolved.batchSize, resolved.contextSize),
        sequences: resolved.taskSequences + chatSequenceCount(resolved) + resolved.backgroundSequences,
        threads: resolved.threads,
        ...kvCacheOptions(resolved.kvCacheType),
        // The scheduler starts every step of a cycle in one turn of the event loop; node-llama-cpp's default dispatch
        // (on the next turn) then hands all their evaluations to llama.cpp as one batch.
        batching: { dispatchSchedule: 'nextCycle' },
      });
      const hooks = {
        onWarning: options.onWarning,
        onWarmUp: options.onWarmUp,
        onJobFinished: options.onJobFinished,
        onCycle: options.onCycle,
      };
      const loadMs = performance.now() - startedAt;
      engine = new Engine(
        { llama, context, source, build, prefixStates, loadMs },
        { model, registry, prefixStates, hooks, options: resolved },
      );
      await warmUp(engine.#runtime);
      return engine;
    } catch (error) {
      if (engine) {
        await engine.dispose();
        throw error;
      }
      await prefixStates?.dispose();
      await model.dispose();
      await llama.dispose();
      // A task that cannot fit is the task file's fault, said in its own one line; anything else is the model's.
      if (error instanceof TaskDefinitionError) throw error;
      throw new ModelUnavailableError({
        message: `Could not create a ${resolved.contextSize}-token context for ${source.path}: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      });
    }
  }

  get contextSize(): number {
    return this.#runtime.contextSize;
  }

  get maxInputChars(): number {
    return this.#runtime.options.maxInputChars;
  }

  /** Every task: the built-ins and TASKS_FILE's, with how each is scored for the loaded tokenizer. */
  tasks(): TaskInfo[] {
    return this.#runtime.registry.describe();
  }

  /** Task `name`'s definition, of `kind` when given; the `BadInputError` `runTasks` would throw otherwise. */
  task(name: string, kind?: TaskDefinition['kind']): TaskDefinition {
    return this.#runtime.registry.get(name, kind);
  }

  /** What `analyze` runs when given no task list. */
  get defaultAnalysis(): readonly string[] {
    return this.#runtime.registry.selection.analyze;
  }

  /** Runs `tasks` on one text in one job, in order, on one task sequence at a time. */
  async runTasks(text: string, tasks: readonly string[], options: TaskRunOptions = {}): Promise<TaskRun> {
    const [run] = await this.runTaskBatch([text], tasks, options);
    return run!;
  }

  /** Runs `tasks` on several texts (at most `maxBatchTexts`) in one job: a run per text, in order. */
  async runTaskBatch(texts: readonly string[], tasks: readonly string[], options: TaskRunOptions = {}): Promise<TaskRun[]> {
    this.#assertOpen();
    return runTaskBatch(this.#runtime, checkTaskBatch(this.#runtime, texts, tasks, options));
  }

  /**
   * Throws the `BadInputError` that `runTasks` would (no tasks, an unknown task or one of the other kind, a text too
   * long for a task), so a caller can check before storing anything; returns the tasks' definitions, without repeats.
   */
  checkTasks(text: string, tasks: readonly string[], options: Pick<TaskRunOptions, 'locale' | 'kind'> = {}): TaskDefinition[] {
    return checkTaskBatch(this.#runtime, [text], tasks, options).definitions;
  }

  /** Generates up to `maxTokens` greedily after the whole of `prompt` (nothing reused), on a task sequence. */
  complete(prompt: readonly PromptPart[], options: CompleteOptions): Promise<Completion> {
    this.#assertOpen();
    return complete(this.#runtime, prompt, options);
  }

  /** Throws the `BadInputError` that `chat` would, so a caller can check a request before storing anything. */
  checkChatRequest(request: ChatRequest): void {
    checkChat(this.#runtime, { ...request, history: [] });
  }

  /** Streams a reply; `for await` gives text deltas, `.result` the final text and statistics. */
  chat(request: ChatRequest, options: JobOptions = {}): ChatStream {
    this.#assertOpen();
    return startChat(this.#runtime, request, options);
  }

  status(): EngineStatus {
    const { scheduler, model, options, chatPool, meter } = this.#runtime;
    const snapshot = scheduler.snapshot();
    const { source, loadMs, build } = this.#parts;
    return {
      model: { name: model.fileInfo.metadata.general.name ?? source.spec, source, synthetic: source.synthetic, loadMs },
      runtime: build,
      ready: !this.#disposed,
      threads: options.threads,
      threadPoolSize: options.threadPoolSize,
      contextSize: this.contextSize,
      queueDepth: snapshot.queueDepth,
      runningJobs: snapshot.running,
      maxParallelReplies: options.maxParallelReplies,
      warmConversations: chatPool.resident,
      tokensGenerated: meter.total,
      recentTokensPerSecond: meter.recentRate(),
      averageStepsPerCycle: this.#cycles.decodes === 0 ? 0 : this.#cycles.steps / this.#cycles.decodes,
    };
  }

  /** Stops accepting work, ends running jobs at their next step, then frees the model. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#runtime.scheduler.close();
    await this.#parts.context.dispose();
    await this.#runtime.model.dispose();
    await this.#parts.llama.dispose();
    await this.#parts.prefixStates.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  #assertOpen(): void {
    if (this.#disposed) throw new ModelUnavailableError({ message: 'The engine is shutting down.' });
  }
}

/**
 * The saved instruction states: in `taskStatesDir` under a key naming what they depend on, or — without one, or when
 * it cannot be used (a read-only folder) — in a private temporary folder, said in a warning.
 */
async function openPrefixStates(
  resolved: ResolvedEngineOptions,
  options: EngineOptions,
  loaded: { llama: Llama; source: ModelSource; build: 'native' | 'prebuilt' },
): Promise<PrefixStates> {
  const root = options.taskStatesDir;
  if (root === undefined) return PrefixStates.create();
  const { llama, source, build } = loaded;
  try {
    const key = await stateCacheKey({
      modelPath: source.path,
      llamaCpp: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release} ${build} ${llama.gpu}`,
      kvCacheType: resolved.kvCacheType,
    });
    return await PrefixStates.create({ cache: { root, key } });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    options.onWarning?.(`task states folder ${root} cannot be used (${reason}); keeping them in a temporary folder until shutdown`);
    return PrefixStates.create();
  }
}
