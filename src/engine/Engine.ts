// The single inference engine: one model, every task by prompt, every evaluation through the scheduler.
import type { Llama, LlamaContext, LlamaModel } from 'node-llama-cpp';
import { buildChatPrompt } from './chatPrompt.js';
import { createChatStream, type ChatStream } from './ChatStream.js';
import { BadInputError, ModelUnavailableError } from './errors.js';
import { forwardAbort, type AbortSignalLike } from '../forwardAbort.js';
import { generateReply, type SamplingOptions } from './generateReply.js';
import type { JobFinishedEvent } from './JobProgress.js';
import {
  DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS,
  loadModel,
  type DownloadProgress,
  type LlamaRuntime,
  type LoadModelOptions,
  type ModelSource,
} from './loadModel.js';
import { PrefixStates } from './PrefixStates.js';
import { stateCacheKey } from './stateCache.js';
import { chatSystemPrompt, type ChatTurn, type Locale, type SentimentLabel } from './prompts.js';
import { Scheduler, type JobKind, type MutexScope, type SubmitOptions } from './Scheduler.js';
import { SentimentClassifier, type SentimentMethod, type SentimentResult } from './SentimentClassifier.js';
import { SequencePool } from './SequencePool.js';
import type { CycleReport } from './StepBatcher.js';
import { submitReported } from './submitReported.js';
import { syncSequence } from './syncSequence.js';
import { detectLocale } from './detectLocale.js';
import type { Classification } from './tasks/Classifier.js';
import type { Extraction } from './tasks/Extractor.js';
import { loadTaskDefinitions, TaskDefinitionError, type TaskCatalog } from './tasks/loadTaskDefinitions.js';
import type { TaskDefinition } from './tasks/definitions.js';
import { TaskRegistry, type TaskInfo } from './tasks/TaskRegistry.js';
import { TokenRateMeter } from './TokenRateMeter.js';
import { tokenizeParts } from './tokenizeParts.js';
import { validateChatRequest, validateText, validateTexts } from './validateInput.js';

/**
 * Chosen from measurements on the 0.5B stand-in (docs/PERFORMANCE.md, benchmarks 5 and 6): six replies decode
 * together; eight sequences (six chat, two task) of 1,536 tokens in a Q8_0 KV cache keep the whole service under
 * 1 GB, with the tasks' saved instruction states and the PostgreSQL driver loaded only when used. Eight replies at
 * 1,792 tokens measured 1,032 MB, six at 1,792 about 1,000.
 */
export const ENGINE_DEFAULTS = {
  contextSize: 1536,
  batchSize: 512,
  maxParallelReplies: 6,
  warmConversations: 6,
  taskSequences: 2,
  maxQueue: 16,
  maxQueuePerKey: 8,
  jobTimeoutMs: 120_000,
  maxInputChars: 4000,
  maxBatchTexts: 32,
  gpu: 'off',
  useMmap: true,
  mutexScope: 'step',
  runtime: 'auto',
  kvCacheType: 'q8_0',
} as const;

export const SAMPLING_DEFAULTS: Omit<SamplingOptions, 'seed'> = {
  temperature: 0.7,
  topP: 0.8,
  maxTokens: 512,
  repeatPenalty: 1.05,
};

/**
 * A text this long (in tokens; about 2,000 English characters with Qwen's tokenizer) keeps its task sequence busy
 * for many decodes: its job is a long one (see Scheduler), like an extraction, so it never holds the last task
 * sequence a short query could use.
 */
const LONG_TEXT_TOKENS = 512;

/** Prompt tokens a decode may carry beside generating replies: one chunk of a new prompt (see syncSequence). */
const PROMPT_TOKENS_BESIDE_REPLIES = 80;

export interface EngineOptions {
  /** A local `.gguf` path, an `hf:` URI, or `synthetic:tiny` / `synthetic:qwen2.5-0.5b`. */
  model: string;
  /** Where downloaded and synthetic models are kept. */
  modelsDir: string;
  /** CPU threads for evaluation; set it from the real core count (node-llama-cpp's default oversubscribes small machines). */
  threads: number;
  /** Tokens each sequence (each chat, each task sequence) can hold. */
  contextSize?: number;
  /** Tokens evaluated per decode call; also sizes llama.cpp's compute buffers. */
  batchSize?: number;
  /** Replies generated at once; every decode carries the next token of each of them. */
  maxParallelReplies?: number;
  /** Conversations kept resident in their own sequence, so a follow-up evaluates only the new tokens (at least `maxParallelReplies` are). */
  warmConversations?: number;
  /** Sequences that run task prompts (sentiment and the other tasks), sharing saved instruction states. */
  taskSequences?: number;
  /** Jobs that may wait; one more is refused with `EngineBusyError`. */
  maxQueue?: number;
  /** Jobs one key may have waiting; its next is refused first. */
  maxQueuePerKey?: number;
  /** Per-job limit, queue wait included. */
  jobTimeoutMs?: number;
  /** Longest text accepted per message or task input, in characters (code points). */
  maxInputChars?: number;
  /** Most texts in one batch. */
  maxBatchTexts?: number;
  gpu?: 'off' | 'auto';
  useMmap?: boolean;
  /** `step` (the default) batches every running job's steps per decode; `job` runs one job at a time, for comparison. */
  mutexScope?: MutexScope;
  /** Which llama.cpp build to load (`auto`: the native build when present). */
  runtime?: LlamaRuntime;
  /**
   * How the KV cache stores keys and values: `q8_0` takes half the memory of `f16` per token (and needs flash
   * attention, which it turns on); `f16` is llama.cpp's default.
   */
  kvCacheType?: KvCacheType;
  /** The tasks beside the built-ins (from TASKS_FILE) and what `analyze` runs by default; default: the built-ins. */
  tasks?: TaskCatalog;
  /**
   * A folder that keeps the task instructions' saved states across restarts (a sub-folder per model file, llama.cpp
   * build and KV cache type), so a restart loads them instead of evaluating them; unset: a private temporary folder,
   * removed on dispose.
   */
  taskStatesDir?: string;
  /** Told how the download goes when `model` is an `hf:` URI that is not cached yet (e.g. a progress bar). */
  downloadProgress?: DownloadProgress;
  /** How long an uncached `hf:` download may take to start before loading fails. */
  downloadConnectTimeoutMs?: number;
  /** Where `hf:` models come from; defaults to https://huggingface.co/. */
  huggingFaceEndpoint?: string;
  onWarning?: (message: string) => void;
  /**
   * Told how the load-time warm-up goes: once before it (`done` 0), then after each task instruction (one per task
   * and language) is prepared; for a progress line or bar. The warm-up has no time limit (it grows with the tasks).
   */
  onWarmUp?: (progress: WarmUpProgress) => void;
  /**
   * Called once for every job when it settles (kind, outcome, latency, first-token time, tokens), before its
   * caller sees the result; for metrics. An exception it throws goes to `onWarning`, never to the job.
   */
  onJobFinished?: (event: JobFinishedEvent) => void;
}

export type KvCacheType = 'f16' | 'q8_0';

export interface WarmUpProgress {
  /** Task instructions prepared so far. */
  done: number;
  /** Every task's instructions in both languages. */
  total: number;
  /** Of those prepared, how many were loaded from `taskStatesDir` rather than evaluated. */
  fromCache: number;
}

type ResolvedEngineOptions = Required<
  Omit<
    EngineOptions,
    'onWarning' | 'onWarmUp' | 'onJobFinished' | 'downloadProgress' | 'huggingFaceEndpoint' | 'tasks' | 'taskStatesDir'
  >
>;

/** Who is asking, for fair turns across API keys, and how to stop. */
export interface JobOptions {
  /** An opaque key (an API key's fingerprint); jobs without one share a turn. */
  key?: string;
  signal?: AbortSignalLike;
}

export interface ClassifyOptions extends JobOptions {
  /** Default: detected from each text (Chinese script → zh, else en). */
  locale?: Locale;
  method?: SentimentMethod;
}

export interface TaskRunOptions extends JobOptions {
  /** Default: detected from the text (Chinese script → zh, else en). */
  locale?: Locale;
  /** Refuse a task of the other kind (the `classify` and `extract` queries); `analyze` takes both. */
  kind?: 'classify' | 'extract';
}

/** One task's result on a text. */
export type TaskResult = ({ task: string; kind: 'classify' } & Classification) | ({ task: string; kind: 'extract' } & Extraction);

export interface TaskRun {
  /** The language the prompts were in: the one asked for, or the one detected. */
  locale: Locale;
  /** In the order the tasks were asked for. */
  results: TaskResult[];
}

/** A label a classify task gave the new message, whose steering line (if any) goes into the reply's system prompt. */
export interface SteeringLabel {
  task: string;
  label: string;
}

export interface ChatRequest {
  /** Earlier turns, oldest first; trimmed oldest-first when they do not fit the context. */
  history: readonly ChatTurn[];
  message: string;
  locale?: Locale;
  /** Labels the chat's tasks gave the new message (its sentiment sets the tone, its intent may say "apologise first"). */
  steer?: readonly SteeringLabel[];
  /** Lets a follow-up land on the sequence that still holds this conversation. */
  conversationKey?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

export interface EngineStatus {
  model: { name: string; source: ModelSource; synthetic: boolean; loadMs: number };
  /** The llama.cpp build in use: `native` (built here by `npm run build:native`) or node-llama-cpp's `prebuilt`. */
  runtime: 'native' | 'prebuilt';
  ready: boolean;
  threads: number;
  contextSize: number;
  queueDepth: number;
  runningJobs: JobKind[];
  maxParallelReplies: number;
  warmConversations: number;
  tokensGenerated: number;
  recentTokensPerSecond: number;
  /** Over the cycles so far (one batched decode each): how many steps (generated tokens, prompt chunks) one carried on average. */
  averageStepsPerCycle: number;
}

interface EngineParts {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  source: ModelSource;
  build: 'native' | 'prebuilt';
  prefixStates: PrefixStates;
  registry: TaskRegistry;
  loadMs: number;
  options: ResolvedEngineOptions;
  hooks: Pick<EngineOptions, 'onWarning' | 'onWarmUp' | 'onJobFinished'>;
}

export class Engine {
  readonly #parts: EngineParts;
  readonly #scheduler: Scheduler;
  readonly #sentiment: SentimentClassifier;
  readonly #chatPool: SequencePool;
  readonly #taskPool: SequencePool;
  readonly #meter = new TokenRateMeter();
  readonly #cycles = { decodes: 0, steps: 0 };
  #disposed = false;

  private constructor(parts: EngineParts) {
    this.#parts = parts;
    const { context, options } = parts;
    this.#sentiment = new SentimentClassifier(parts.model, parts.registry.classifier);
    this.#taskPool = new SequencePool(Array.from({ length: options.taskSequences }, () => context.getSequence()));
    this.#chatPool = new SequencePool(Array.from({ length: chatSequenceCount(options) }, () => context.getSequence()));
    this.#scheduler = new Scheduler({
      maxQueue: options.maxQueue,
      maxQueuePerKey: options.maxQueuePerKey,
      jobTimeoutMs: options.jobTimeoutMs,
      laneCapacity: { task: options.taskSequences, chat: options.maxParallelReplies },
      mutexScope: options.mutexScope,
      batching: { promptTokensBesideReplies: PROMPT_TOKENS_BESIDE_REPLIES, promptTokensAlone: options.batchSize },
      onCycle: (report: CycleReport) => {
        this.#cycles.decodes += 1;
        this.#cycles.steps += report.steps;
      },
    });
  }

  static async load(options: EngineOptions): Promise<Engine> {
    const startedAt = performance.now();
    const resolved: ResolvedEngineOptions = {
      ...ENGINE_DEFAULTS,
      downloadConnectTimeoutMs: DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS,
      ...withoutUndefined(options),
    };
    const loadOptions: LoadModelOptions = {
      model: resolved.model,
      modelsDir: resolved.modelsDir,
      gpu: resolved.gpu,
      useMmap: resolved.useMmap,
      runtime: resolved.runtime,
      downloadConnectTimeoutMs: resolved.downloadConnectTimeoutMs,
      ...(options.downloadProgress ? { downloadProgress: options.downloadProgress } : {}),
      ...(options.huggingFaceEndpoint ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    };
    const { llama, model, source, build } = await loadModel(loadOptions);
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
        sequences: resolved.taskSequences + chatSequenceCount(resolved),
        threads: resolved.threads,
        ...kvCacheOptions(resolved.kvCacheType),
        // The scheduler starts every step of a cycle in one turn of the event loop; node-llama-cpp's default dispatch
        // (on the next turn) then hands all their evaluations to llama.cpp as one batch.
        batching: { dispatchSchedule: 'nextCycle' },
      });
      const hooks = { onWarning: options.onWarning, onWarmUp: options.onWarmUp, onJobFinished: options.onJobFinished };
      const loadMs = performance.now() - startedAt;
      engine = new Engine({
        llama,
        model,
        context,
        source,
        build,
        prefixStates,
        registry,
        loadMs,
        options: resolved,
        hooks,
      });
      await engine.#warmUp();
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
    return this.#parts.context.contextSize;
  }

  get maxInputChars(): number {
    return this.#parts.options.maxInputChars;
  }

  /** Whether one forward pass decides the label for this locale with the loaded tokenizer. */
  usesSinglePassSentiment(locale: Locale): boolean {
    return this.#sentiment.usesSinglePass(locale);
  }

  classify(text: string, options: ClassifyOptions = {}): Promise<SentimentResult> {
    return this.classifyBatch([text], options).then((results) => results[0]!);
  }

  /** Classifies several texts in one job, in order. */
  async classifyBatch(texts: readonly string[], options: ClassifyOptions = {}): Promise<SentimentResult[]> {
    this.#assertOpen();
    const { maxInputChars, maxBatchTexts } = this.#parts.options;
    validateTexts(texts, maxInputChars, maxBatchTexts);
    const method = options.method ?? 'logprob';
    const locales = texts.map((text) => options.locale ?? detectLocale(text));
    texts.forEach((text, index) =>
      this.#assertFits(
        this.#sentiment.tokensNeeded(text, locales[index]!, method),
        texts.length === 1 ? 'text' : `text #${index + 1}`,
      ),
    );
    return submitReported(
      this.#scheduler,
      this.#parts.hooks,
      {
        kind: texts.length === 1 ? 'sentiment' : 'sentiment-batch',
        lane: 'task',
        long: texts.some((text) => this.#isLongText(text)),
        ...jobOptionsOf(options),
      },
      async (job) => {
        const results: SentimentResult[] = [];
        for (const [index, text] of texts.entries()) {
          // A batch is one job, but its lane slot is handed on between texts to any other key waiting for one.
          if (index > 0) await job.yield();
          const lease = this.#taskPool.acquire(`sentiment:${locales[index]}`);
          try {
            results.push(await this.#sentiment.classify(job, lease.sequence, text, locales[index]!, method));
          } finally {
            lease.release();
          }
        }
        return results;
      },
    );
  }

  /** Every task: the built-ins and TASKS_FILE's, with how each is scored for the loaded tokenizer. */
  tasks(): TaskInfo[] {
    return this.#parts.registry.describe();
  }

  /** What `analyze` runs when given no task list. */
  get defaultAnalysis(): readonly string[] {
    return this.#parts.registry.selection.analyze;
  }

  /**
   * Runs `tasks` on one text in one job, in order, on one task sequence: each task's instructions are restored from
   * their saved state (never evaluated again), then only the text and the answer are evaluated.
   */
  async runTasks(text: string, tasks: readonly string[], options: TaskRunOptions = {}): Promise<TaskRun> {
    this.#assertOpen();
    const { registry } = this.#parts;
    const definitions = this.checkTasks(text, tasks, options);
    const locale = options.locale ?? detectLocale(text);
    // Sentiment alone (a chat's default task) keeps the job kind it always had, so its metrics read on.
    const only = definitions.length === 1 ? definitions[0]! : undefined;
    const kind = only ? (only.name === 'sentiment' ? 'sentiment' : only.kind) : 'analyze';
    // An extraction generates its answer and holds its task sequence meanwhile: a long job (see Scheduler).
    const long = definitions.some((task) => task.kind === 'extract') || this.#isLongText(text);
    const submit: SubmitOptions = { kind, lane: 'task', long, ...jobOptionsOf(options) };
    return submitReported(this.#scheduler, this.#parts.hooks, submit, async (job) => {
      const results: TaskResult[] = [];
      for (const [index, task] of definitions.entries()) {
        // Between tasks the lane slot goes to any other key waiting for one.
        if (index > 0) await job.yield();
        const lease = this.#taskPool.acquire(`${task.name}:${locale}`);
        try {
          if (task.kind === 'classify') {
            const compiled = registry.classifierTask(task.name);
            results.push({ task: task.name, kind: 'classify', ...(await registry.classifier.classify(job, lease.sequence, compiled, locale, text)) });
          } else {
            results.push({ task: task.name, kind: 'extract', ...(await registry.extractor.extract(job, lease.sequence, task.name, locale, text)) });
          }
        } finally {
          lease.release();
        }
      }
      return { locale, results };
    });
  }

  /**
   * Throws the `BadInputError` that `runTasks` would (no tasks, an unknown task or one of the other kind, a text too
   * long for a task), so a caller can check before storing anything; returns the tasks' definitions, without repeats.
   */
  checkTasks(text: string, tasks: readonly string[], options: Pick<TaskRunOptions, 'locale' | 'kind'> = {}): TaskDefinition[] {
    validateText(text, this.#parts.options.maxInputChars);
    const { registry } = this.#parts;
    if (tasks.length === 0) throw new BadInputError({ message: 'No tasks were given.' });
    const definitions = [...new Set(tasks)].map((name) => registry.get(name, options.kind));
    const locale = options.locale ?? detectLocale(text);
    for (const task of definitions) {
      const needed =
        task.kind === 'classify'
          ? registry.classifier.tokensNeeded(registry.classifierTask(task.name), locale, text)
          : registry.extractor.tokensNeeded(task.name, locale, text);
      this.#assertFits(needed, `text (for task "${task.name}")`);
    }
    return definitions;
  }

  /** Throws the `BadInputError` that `chat` would, so a caller can check a request before storing anything. */
  checkChatRequest(request: ChatRequest): void {
    const sampling = validateChatRequest(request, this.#parts.options.maxInputChars, this.contextSize, SAMPLING_DEFAULTS);
    buildChatPrompt(this.#parts.model, this.#chatPromptRequest({ ...request, history: [] }), this.contextSize, sampling.maxTokens);
  }

  /** Streams a reply; `for await` gives text deltas, `.result` the final text and statistics. */
  chat(request: ChatRequest, options: JobOptions = {}): ChatStream {
    this.#assertOpen();
    const sampling = validateChatRequest(request, this.#parts.options.maxInputChars, this.contextSize, SAMPLING_DEFAULTS);
    const promptTokens = buildChatPrompt(this.#parts.model, this.#chatPromptRequest(request), this.contextSize, sampling.maxTokens);
    const cancel = new AbortController();
    const detach = forwardAbort(options.signal, cancel);
    return createChatStream(
      (push) =>
        submitReported(
          this.#scheduler,
          this.#parts.hooks,
          { kind: 'chat', lane: 'chat', signal: cancel.signal, ...(options.key === undefined ? {} : { key: options.key }) },
          async (job, progress) => {
            const lease = this.#chatPool.acquire(request.conversationKey);
            const onText = (delta: string): void => {
              progress.text();
              push(delta);
            };
            try {
              return await generateReply(job, this.#parts.model, lease.sequence, promptTokens, sampling, onText, () => {
                this.#meter.record();
                progress.token();
              });
            } finally {
              lease.release();
            }
          },
          (reply) => reply.finishReason === 'aborted',
        ).finally(detach),
      () => cancel.abort(),
    );
  }

  status(): EngineStatus {
    const snapshot = this.#scheduler.snapshot();
    const { model, source, loadMs, build, options } = this.#parts;
    return {
      model: { name: model.fileInfo.metadata.general.name ?? source.spec, source, synthetic: source.synthetic, loadMs },
      runtime: build,
      ready: !this.#disposed,
      threads: options.threads,
      contextSize: this.contextSize,
      queueDepth: snapshot.queueDepth,
      runningJobs: snapshot.running,
      maxParallelReplies: options.maxParallelReplies,
      warmConversations: this.#chatPool.resident,
      tokensGenerated: this.#meter.total,
      recentTokensPerSecond: this.#meter.recentRate(),
      averageStepsPerCycle: this.#cycles.decodes === 0 ? 0 : this.#cycles.steps / this.#cycles.decodes,
    };
  }

  /** Stops accepting work, ends running jobs at their next step, then frees the model. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#scheduler.close();
    await this.#parts.context.dispose();
    await this.#parts.model.dispose();
    await this.#parts.llama.dispose();
    await this.#parts.prefixStates.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** The prompt's parts: the language (asked for, or detected from the message) and the steering lines of its labels. */
  #chatPromptRequest(request: ChatRequest) {
    const locale = request.locale ?? detectLocale(request.message);
    const steering = (request.steer ?? []).flatMap(({ task, label }) => this.#parts.registry.steerLine(task, label, locale) ?? []);
    return { history: request.history, message: request.message, locale, steering };
  }

  #isLongText(text: string): boolean {
    return this.#parts.model.tokenize(text).length > LONG_TEXT_TOKENS;
  }

  #assertFits(tokens: number, what: string): void {
    if (tokens <= this.contextSize) return;
    throw new BadInputError({
      message: `The ${what} needs ${tokens} prompt tokens, more than the ${this.contextSize}-token context; shorten it.`,
    });
  }

  /**
   * Evaluates every sequence's constant prefix once at load: the task instructions (whose states are saved for any
   * task sequence to load later) and the chat system prompt, so that no first request pays for them or for
   * first-touch allocation of its KV cache. Its cost grows with the number of tasks (each instruction is evaluated
   * and saved once, nothing is scanned again per task), so its jobs have no time limit: `onWarmUp` reports progress.
   */
  async #warmUp(): Promise<void> {
    const chatPrefix = tokenizeParts(this.#parts.model, chatSystemPrompt('zh'));
    const chatLeases = Array.from({ length: this.#chatPool.size }, () => this.#chatPool.acquire(undefined));
    const { taskSequences, maxParallelReplies } = this.#parts.options;
    // Every task's instructions in both languages, sentiment's last so they are the ones left resident.
    const { registry, hooks } = this.#parts;
    const names = [...registry.names.filter((name) => name !== 'sentiment'), 'sentiment'];
    const prefixes = names.flatMap((name) => (['zh', 'en'] as const).map((locale) => ({ name, locale })));
    const progress: WarmUpProgress = { done: 0, total: prefixes.length, fromCache: 0 };
    const report = (): void => {
      try {
        hooks.onWarmUp?.({ ...progress });
      } catch (error) {
        hooks.onWarning?.(`onWarmUp failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    report();
    // As many jobs as each lane runs at once, so warming up never waits in (or overflows) the queue.
    const taskJobs = spread(prefixes, taskSequences).map((share) =>
      this.#scheduler.submit({ kind: 'analyze', lane: 'task', timeoutMs: null }, async (job) => {
        for (const { name, locale } of share) {
          const lease = this.#taskPool.acquire(`${name}:${locale}`);
          let restored;
          try {
            restored =
              registry.get(name).kind === 'classify'
                ? await registry.classifier.warmUp(job, lease.sequence, name, locale)
                : await registry.extractor.warmUp(job, lease.sequence, name, locale);
          } finally {
            lease.release();
          }
          // Nothing is in memory yet: a state loaded now came from the cache folder.
          if (restored === 'loaded') progress.fromCache += 1;
          progress.done += 1;
          report();
        }
      }),
    );
    const chatJobs = spread(chatLeases, maxParallelReplies).map((share) =>
      this.#scheduler.submit({ kind: 'chat', lane: 'chat', timeoutMs: null }, async (job) => {
        for (const { sequence } of share) {
          await syncSequence(job, sequence, chatPrefix, (pending) => sequence.evaluateWithoutGeneratingNewTokens(pending));
        }
      }),
    );
    try {
      await Promise.all([...taskJobs, ...chatJobs]);
    } finally {
      for (const lease of chatLeases) lease.release();
    }
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

/**
 * node-llama-cpp marks its KV cache type options experimental; a Q8_0 cache with flash attention is what llama.cpp's
 * own tools offer for CPUs (`-ctk q8_0 -ctv q8_0 -fa on`), and the engine's tests run on it.
 */
function kvCacheOptions(type: KvCacheType) {
  if (type === 'f16') return {};
  return { flashAttention: true, experimentalKvCacheKeyType: 'Q8_0', experimentalKvCacheValueType: 'Q8_0' } as const;
}

/** `items` dealt into at most `ways` non-empty shares. */
function spread<T>(items: readonly T[], ways: number): T[][] {
  const shares: T[][] = Array.from({ length: Math.min(ways, items.length) }, () => []);
  items.forEach((item, index) => shares[index % shares.length]!.push(item));
  return shares;
}

/** Every generating reply needs a sequence of its own; more keep idle conversations warm. */
function chatSequenceCount(options: Pick<ResolvedEngineOptions, 'maxParallelReplies' | 'warmConversations'>): number {
  return Math.max(options.maxParallelReplies, options.warmConversations);
}

function jobOptionsOf(options: JobOptions): Pick<JobOptions, 'key' | 'signal'> {
  return {
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
