// The single inference engine: one model, two tasks (sentiment and chat), every evaluation through the scheduler.
import type { Llama, LlamaContext, LlamaModel } from 'node-llama-cpp';
import { createChatStream, type ChatStream } from './ChatStream.js';
import { BadInputError, ModelUnavailableError } from './errors.js';
import { forwardAbort, type AbortSignalLike } from './forwardAbort.js';
import { generateReply, type SamplingOptions } from './generateReply.js';
import { JobProgress, type JobFinishedEvent } from './JobProgress.js';
import {
  DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS,
  loadModel,
  type DownloadProgress,
  type LoadModelOptions,
  type ModelSource,
} from './loadModel.js';
import { ASSISTANT_REPLY_LEAD, chatSystemPrompt, chatTurnPrompt, type ChatTurn, type Locale, type SentimentLabel } from './prompts.js';
import { Scheduler, type JobContext, type JobKind, type MutexScope, type SubmitOptions } from './Scheduler.js';
import { SentimentClassifier, type SentimentMethod, type SentimentResult } from './SentimentClassifier.js';
import { SequencePool } from './SequencePool.js';
import { syncSequence } from './syncSequence.js';
import { TokenRateMeter } from './TokenRateMeter.js';
import { tokenizeParts } from './tokenizeParts.js';
import { validateChatRequest, validateTexts } from './validateInput.js';

export const ENGINE_DEFAULTS = {
  contextSize: 4096,
  batchSize: 512,
  warmConversations: 2,
  maxQueue: 16,
  jobTimeoutMs: 120_000,
  maxInputChars: 4000,
  maxBatchTexts: 32,
  gpu: 'off',
  useMmap: true,
  mutexScope: 'step',
} as const;

export const SAMPLING_DEFAULTS: Omit<SamplingOptions, 'seed'> = {
  temperature: 0.7,
  topP: 0.8,
  maxTokens: 512,
  repeatPenalty: 1.05,
};

export interface EngineOptions {
  /** A local `.gguf` path, an `hf:` URI, or `synthetic:tiny` / `synthetic:qwen2.5-0.5b`. */
  model: string;
  /** Where downloaded and synthetic models are kept. */
  modelsDir: string;
  /** CPU threads for evaluation; set it from the real core count (node-llama-cpp's default oversubscribes small machines). */
  threads: number;
  /** Tokens each sequence (each warm conversation, each sentiment prompt) can hold. */
  contextSize?: number;
  /** Tokens evaluated per decode call; also sizes the logits buffer (batch × vocabulary). */
  batchSize?: number;
  /** Conversations kept resident in their own sequence so a follow-up evaluates only the new tokens. */
  warmConversations?: number;
  /** Jobs that may wait; one more is refused with `EngineBusyError`. */
  maxQueue?: number;
  /** Per-job limit, queue wait included. */
  jobTimeoutMs?: number;
  /** Longest text accepted per message or sentiment input, in characters. */
  maxInputChars?: number;
  /** Most texts in one sentiment batch. */
  maxBatchTexts?: number;
  gpu?: 'off' | 'auto';
  useMmap?: boolean;
  /** `step` (the default) lets jobs interleave between evaluation steps; `job` runs one job at a time, for comparison. */
  mutexScope?: MutexScope;
  /** Told how the download goes when `model` is an `hf:` URI that is not cached yet (e.g. a progress bar). */
  downloadProgress?: DownloadProgress;
  /** How long an uncached `hf:` download may take to start before loading fails. */
  downloadConnectTimeoutMs?: number;
  /** Where `hf:` models come from; defaults to https://huggingface.co/. */
  huggingFaceEndpoint?: string;
  onWarning?: (message: string) => void;
  /**
   * Called once for every job when it settles (kind, outcome, latency, first-token time, tokens), before its
   * caller sees the result; for metrics. An exception it throws goes to `onWarning`, never to the job.
   */
  onJobFinished?: (event: JobFinishedEvent) => void;
}

type ResolvedEngineOptions = Required<
  Omit<EngineOptions, 'onWarning' | 'onJobFinished' | 'downloadProgress' | 'huggingFaceEndpoint'>
>;

export interface ClassifyOptions {
  locale?: Locale;
  method?: SentimentMethod;
  signal?: AbortSignalLike;
}

export interface ChatRequest {
  /** Earlier turns, oldest first; trimmed oldest-first when they do not fit the context. */
  history: readonly ChatTurn[];
  message: string;
  locale?: Locale;
  /** The new message's sentiment, which sets the reply's tone. */
  userSentiment?: SentimentLabel;
  /** Lets a follow-up land on the sequence that still holds this conversation. */
  conversationKey?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

export interface EngineStatus {
  model: { name: string; source: ModelSource; synthetic: boolean; loadMs: number };
  ready: boolean;
  threads: number;
  contextSize: number;
  queueDepth: number;
  runningJobs: JobKind[];
  warmConversations: number;
  tokensGenerated: number;
  recentTokensPerSecond: number;
}

export class Engine {
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #source: ModelSource;
  readonly #loadMs: number;
  readonly #options: ResolvedEngineOptions;
  readonly #scheduler: Scheduler;
  readonly #classifier: SentimentClassifier;
  readonly #pool: SequencePool;
  readonly #meter = new TokenRateMeter();
  readonly #hooks: Pick<EngineOptions, 'onWarning' | 'onJobFinished'>;
  #disposed = false;

  private constructor(parts: {
    llama: Llama;
    model: LlamaModel;
    context: LlamaContext;
    source: ModelSource;
    loadMs: number;
    options: ResolvedEngineOptions;
    hooks: Pick<EngineOptions, 'onWarning' | 'onJobFinished'>;
  }) {
    this.#hooks = parts.hooks;
    this.#llama = parts.llama;
    this.#model = parts.model;
    this.#context = parts.context;
    this.#source = parts.source;
    this.#loadMs = parts.loadMs;
    this.#options = parts.options;
    this.#classifier = new SentimentClassifier(this.#model, {
      zh: this.#context.getSequence(),
      en: this.#context.getSequence(),
    });
    const chatSequences = Array.from({ length: parts.options.warmConversations }, () => this.#context.getSequence());
    this.#pool = new SequencePool(chatSequences);
    this.#scheduler = new Scheduler({
      maxQueue: parts.options.maxQueue,
      jobTimeoutMs: parts.options.jobTimeoutMs,
      laneCapacity: { 'sentiment:zh': 1, 'sentiment:en': 1, chat: chatSequences.length },
      mutexScope: parts.options.mutexScope,
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
      ...(options.downloadProgress ? { downloadProgress: options.downloadProgress } : {}),
      ...(options.huggingFaceEndpoint ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
      downloadConnectTimeoutMs: resolved.downloadConnectTimeoutMs,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    };
    const { llama, model, source } = await loadModel(loadOptions);
    let engine: Engine | undefined;
    try {
      const context = await model.createContext({
        contextSize: resolved.contextSize,
        batchSize: Math.min(resolved.batchSize, resolved.contextSize),
        // Two sentiment sequences (one warm prefix per locale) plus the warm conversations.
        sequences: 2 + resolved.warmConversations,
        threads: resolved.threads,
        // The scheduler lets one evaluation run at a time, so there is never anything to batch it with: start each
        // decode at once instead of on the next event-loop turn, after the previous token's delivery work.
        batching: { dispatchSchedule: (dispatch) => dispatch() },
      });
      const hooks = { onWarning: options.onWarning, onJobFinished: options.onJobFinished };
      engine = new Engine({ llama, model, context, source, loadMs: performance.now() - startedAt, options: resolved, hooks });
      await engine.#warmUp();
      return engine;
    } catch (error) {
      if (engine) {
        await engine.dispose();
        throw error;
      }
      await model.dispose();
      await llama.dispose();
      throw new ModelUnavailableError({
        message: `Could not create a ${resolved.contextSize}-token context for ${source.path}: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      });
    }
  }

  get contextSize(): number {
    return this.#context.contextSize;
  }

  get maxInputChars(): number {
    return this.#options.maxInputChars;
  }

  /** Whether one forward pass decides the label for this locale with the loaded tokenizer. */
  usesSinglePassSentiment(locale: Locale): boolean {
    return this.#classifier.usesSinglePass(locale);
  }

  classify(text: string, options: ClassifyOptions = {}): Promise<SentimentResult> {
    return this.classifyBatch([text], options).then((results) => results[0]!);
  }

  /** Classifies several texts in one job, in order. */
  async classifyBatch(texts: readonly string[], options: ClassifyOptions = {}): Promise<SentimentResult[]> {
    this.#assertOpen();
    validateTexts(texts, this.#options.maxInputChars, this.#options.maxBatchTexts);
    const locale = options.locale ?? 'zh';
    const method = options.method ?? 'logprob';
    return this.#submit(
      { kind: texts.length === 1 ? 'sentiment' : 'sentiment-batch', lane: `sentiment:${locale}`, ...signalOf(options) },
      async (job) => {
        const results: SentimentResult[] = [];
        for (const text of texts) results.push(await this.#classifier.classify(job, text, locale, method));
        return results;
      },
    );
  }

  /** Throws the `BadInputError` that `chat` would, so a caller can check a request before storing anything. */
  checkChatRequest(request: ChatRequest): void {
    const sampling = validateChatRequest(request, this.#options.maxInputChars, this.contextSize, SAMPLING_DEFAULTS);
    this.#buildChatPrompt({ ...request, history: [] }, request.locale ?? 'zh', sampling.maxTokens);
  }

  /** Streams a reply; `for await` gives text deltas, `.result` the final text and statistics. */
  chat(request: ChatRequest, options: { signal?: AbortSignalLike } = {}): ChatStream {
    this.#assertOpen();
    const sampling = validateChatRequest(request, this.#options.maxInputChars, this.contextSize, SAMPLING_DEFAULTS);
    const locale = request.locale ?? 'zh';
    const promptTokens = this.#buildChatPrompt(request, locale, sampling.maxTokens);
    const cancel = new AbortController();
    const detach = forwardAbort(options.signal, cancel);
    return createChatStream(
      (push) =>
        this.#submit(
          { kind: 'chat', lane: 'chat', signal: cancel.signal },
          async (job, progress) => {
            const lease = this.#pool.acquire(request.conversationKey);
            const onText = (delta: string): void => {
              progress.text();
              push(delta);
            };
            try {
              return await generateReply(job, this.#model, lease.sequence, promptTokens, sampling, onText, () => {
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
    return {
      model: {
        name: this.#model.fileInfo.metadata.general.name ?? this.#source.spec,
        source: this.#source,
        synthetic: this.#source.synthetic,
        loadMs: this.#loadMs,
      },
      ready: !this.#disposed,
      threads: this.#options.threads,
      contextSize: this.contextSize,
      queueDepth: snapshot.queueDepth,
      runningJobs: snapshot.running,
      warmConversations: this.#pool.warmConversations,
      tokensGenerated: this.#meter.total,
      recentTokensPerSecond: this.#meter.recentRate(),
    };
  }

  /** Stops accepting work, ends running jobs at their next step, then frees the model. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#scheduler.close();
    await this.#context.dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /**
   * System prompt + as many recent turns as fit + the new message + room for the reply.
   * Whole turns are dropped oldest first; the system prompt and the new message always stay.
   */
  #buildChatPrompt(request: ChatRequest, locale: Locale, maxTokens: number) {
    const head = tokenizeParts(this.#model, chatSystemPrompt(locale, request.userSentiment));
    const tail = tokenizeParts(this.#model, [
      ...chatTurnPrompt({ role: 'user', content: request.message }),
      ...ASSISTANT_REPLY_LEAD,
    ]);
    const budget = this.contextSize - maxTokens - head.length - tail.length;
    if (budget < 0) {
      throw new BadInputError({
        message:
          `The message needs ${head.length + tail.length} prompt tokens plus ${maxTokens} for the reply, ` +
          `more than the ${this.contextSize}-token context; shorten it or lower maxTokens.`,
      });
    }
    const turns = request.history.map((turn) => tokenizeParts(this.#model, chatTurnPrompt(turn)));
    let kept = turns.length;
    let used = 0;
    while (kept > 0 && used + turns[kept - 1]!.length <= budget) {
      used += turns[kept - 1]!.length;
      kept -= 1;
    }
    // A history that would open with a reply to a dropped question confuses the model; drop that reply too.
    if (kept < turns.length && request.history[kept]?.role === 'assistant') kept += 1;
    return [...head, ...turns.slice(kept).flat(), ...tail];
  }

  /**
   * Evaluates every sequence's constant prefix once at load: the sentiment system prompts stay warm from the
   * start, and the first request on each sequence does not pay for first-touch allocation of its KV cache.
   */
  async #warmUp(): Promise<void> {
    const chatPrefix = tokenizeParts(this.#model, chatSystemPrompt('zh'));
    const leases = Array.from({ length: this.#pool.size }, () => this.#pool.acquire(undefined));
    try {
      await Promise.all([
        ...(['zh', 'en'] as const).map((locale) =>
          this.#scheduler.submit({ kind: 'sentiment', lane: `sentiment:${locale}` }, (job) => this.#classifier.warmUp(job, locale)),
        ),
        ...leases.map(({ sequence }) =>
          this.#scheduler.submit({ kind: 'chat', lane: 'chat' }, (job) =>
            syncSequence(job, sequence, chatPrefix, (pending) => sequence.evaluateWithoutGeneratingNewTokens(pending)),
          ),
        ),
      ]);
    } finally {
      for (const lease of leases) lease.release();
    }
  }

  /** Submits a job to the scheduler and reports how it ended to `onJobFinished`. */
  #submit<T>(
    options: SubmitOptions,
    work: (job: JobContext, progress: JobProgress) => Promise<T>,
    stoppedByCaller: (value: T) => boolean = () => false,
  ): Promise<T> {
    const progress = new JobProgress(options.kind);
    const running = this.#scheduler.submit(options, (job) => work(job, progress));
    const listener = this.#hooks.onJobFinished;
    if (!listener) return running;
    const report = (event: JobFinishedEvent): void => {
      try {
        listener(event);
      } catch (error) {
        this.#hooks.onWarning?.(`onJobFinished failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    // Attached before the caller's own handlers, so the report lands before the caller sees the result.
    running.then(
      (value) => report(progress.finished(stoppedByCaller(value) ? 'ABORTED' : 'ok')),
      (error: unknown) => report(progress.failed(error)),
    );
    return running;
  }

  #assertOpen(): void {
    if (this.#disposed) throw new ModelUnavailableError({ message: 'The engine is shutting down.' });
  }
}

function signalOf(options: { signal?: AbortSignalLike }): { signal?: AbortSignalLike } {
  return options.signal ? { signal: options.signal } : {};
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
