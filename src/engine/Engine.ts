// The single inference engine: one model, two tasks (sentiment and chat), every evaluation through the scheduler.
import type { Llama, LlamaContext, LlamaModel } from 'node-llama-cpp';
import { createChatStream, type ChatStream } from './ChatStream.js';
import { BadInputError, ModelUnavailableError } from './errors.js';
import { generateReply, type SamplingOptions } from './generateReply.js';
import { DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS, loadModel, type LoadModelOptions, type ModelSource } from './loadModel.js';
import { ASSISTANT_REPLY_LEAD, chatSystemPrompt, chatTurnPrompt, type ChatTurn, type Locale, type SentimentLabel } from './prompts.js';
import { Scheduler, type JobKind } from './Scheduler.js';
import { SentimentClassifier, type SentimentMethod, type SentimentResult } from './SentimentClassifier.js';
import { SequencePool } from './SequencePool.js';
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
  /** Show a download progress bar when `model` is an `hf:` URI that is not cached yet. */
  showDownloadProgress?: boolean;
  /** How long an uncached `hf:` download may take to start before loading fails. */
  downloadConnectTimeoutMs?: number;
  onWarning?: (message: string) => void;
}

export interface ClassifyOptions {
  locale?: Locale;
  method?: SentimentMethod;
  signal?: AbortSignal;
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
  readonly #options: Required<Omit<EngineOptions, 'onWarning'>>;
  readonly #scheduler: Scheduler;
  readonly #classifier: SentimentClassifier;
  readonly #pool: SequencePool;
  readonly #meter = new TokenRateMeter();
  #disposed = false;

  private constructor(parts: {
    llama: Llama;
    model: LlamaModel;
    context: LlamaContext;
    source: ModelSource;
    loadMs: number;
    options: Required<Omit<EngineOptions, 'onWarning'>>;
  }) {
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
    });
  }

  static async load(options: EngineOptions): Promise<Engine> {
    const startedAt = performance.now();
    const resolved: Required<Omit<EngineOptions, 'onWarning'>> = {
      ...ENGINE_DEFAULTS,
      showDownloadProgress: false,
      downloadConnectTimeoutMs: DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS,
      ...withoutUndefined(options),
    };
    const loadOptions: LoadModelOptions = {
      model: resolved.model,
      modelsDir: resolved.modelsDir,
      gpu: resolved.gpu,
      useMmap: resolved.useMmap,
      showDownloadProgress: resolved.showDownloadProgress,
      downloadConnectTimeoutMs: resolved.downloadConnectTimeoutMs,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    };
    const { llama, model, source } = await loadModel(loadOptions);
    try {
      const context = await model.createContext({
        contextSize: resolved.contextSize,
        batchSize: Math.min(resolved.batchSize, resolved.contextSize),
        // Two sentiment sequences (one warm prefix per locale) plus the warm conversations.
        sequences: 2 + resolved.warmConversations,
        threads: resolved.threads,
      });
      return new Engine({ llama, model, context, source, loadMs: performance.now() - startedAt, options: resolved });
    } catch (error) {
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
    return this.#scheduler.submit(
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
  chat(request: ChatRequest, options: { signal?: AbortSignal } = {}): ChatStream {
    this.#assertOpen();
    const sampling = validateChatRequest(request, this.#options.maxInputChars, this.contextSize, SAMPLING_DEFAULTS);
    const locale = request.locale ?? 'zh';
    const promptTokens = this.#buildChatPrompt(request, locale, sampling.maxTokens);
    const cancel = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
    return createChatStream(
      (push) =>
        this.#scheduler.submit({ kind: 'chat', lane: 'chat', signal }, async (job) => {
          const lease = this.#pool.acquire(request.conversationKey);
          try {
            return await generateReply(job, this.#model, lease.sequence, promptTokens, sampling, push, () =>
              this.#meter.record(),
            );
          } finally {
            lease.release();
          }
        }),
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

  #assertOpen(): void {
    if (this.#disposed) throw new ModelUnavailableError({ message: 'The engine is shutting down.' });
  }
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
