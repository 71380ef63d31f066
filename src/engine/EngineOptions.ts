// The engine's options, their defaults and how they are resolved into what loading and the scheduler take.
import { createBinaryTestVerdicts } from './binaryTestVerdicts.js';
import type { JobFinishedEvent } from './JobProgress.js';
import type { SamplingOptions } from './chat/generateReply.js';
import { DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS, type DownloadProgress, type LlamaRuntime, type LoadModelOptions } from './loadModel.js';
import type { MutexScope } from './Scheduler.js';
import type { CycleReport } from './StepBatcher.js';
import type { TaskCatalog } from './tasks/loadTaskDefinitions.js';
import type { WarmUpProgress } from './types.js';

/**
 * Chosen from measurements on the 0.5B stand-in (docs/PERFORMANCE.md, benchmarks 5, 6 and 13): eight replies decode
 * together, so eight streams at once all start at once (with six, two waited for a whole reply: p95 first token 6.2 s
 * against 1.9 s, measured on 2026-12-06); each more sequence of 1,536 tokens in a Q8_0 KV cache costs about 15 MB.
 * The weights are read into memory rather than mapped: where the CPU backend repacks them (AMX), a mapped file stays
 * resident beside the repacked copy (1,582 MB against 1,198 MB at these defaults, same run).
 */
export const ENGINE_DEFAULTS = {
  contextSize: 1536,
  batchSize: 512,
  maxParallelReplies: 8,
  warmConversations: 8,
  taskSequences: 2,
  backgroundSequences: 2,
  backgroundSharePercent: 5,
  fillGaps: true,
  maxQueue: 16,
  maxQueuePerKey: 8,
  jobTimeoutMs: 120_000,
  maxInputChars: 4000,
  maxBatchTexts: 32,
  gpu: 'off',
  useMmap: false,
  mutexScope: 'step',
  runtime: 'auto',
  kvCacheType: 'q8_0',
  // Node's own default; `npm start` sets one (src/start.cts).
  threadPoolSize: 4,
} as const;

export const SAMPLING_DEFAULTS: Omit<SamplingOptions, 'seed'> = {
  temperature: 0.7,
  topP: 0.8,
  maxTokens: 512,
  repeatPenalty: 1.05,
};

/** Prompt tokens a decode may carry beside generating replies: one chunk of a new prompt (see syncSequence). */
export const PROMPT_TOKENS_BESIDE_REPLIES = 80;

export type KvCacheType = 'f16' | 'q8_0';

export interface EngineOptions {
  /** A local `.gguf` path, an `hf:` URI, or `synthetic:tiny` / `synthetic:qwen2.5-0.5b`. */
  model: string;
  /** Where downloaded and synthetic models are kept. */
  modelsDir: string;
  /** CPU threads for evaluation; set it from the real core count (node-llama-cpp's default oversubscribes small machines). */
  threads: number;
  /**
   * Threads in libuv's pool, where node-llama-cpp runs every decode: what UV_THREADPOOL_SIZE made it (Node reads the
   * variable itself when the pool starts; the engine is only told, to report it).
   */
  threadPoolSize?: number;
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
  /**
   * Sequences of their own for background work (`TaskRunOptions.background`), so an interactive job never waits for
   * a sequence held by it; also how many background jobs run at once. 0: no background work (refused with
   * `BackgroundDisabledError`).
   */
  backgroundSequences?: number;
  /**
   * The percentage of busy decode time owed to waiting background work (0 to 50): while interactive work keeps the
   * engine busy, background work still takes one small decode per so much of it (at 5, one per second of interactive
   * decoding), so analysis jobs advance on a service that is never idle. 0: background work runs on spare capacity only.
   */
  backgroundSharePercent?: number;
  /**
   * Whether a decode of single tokens (replies) also carries a throwaway token on each idle sequence in a short gap
   * between theirs, so llama.cpp makes it one pass over the weights instead of one per run of consecutive sequences
   * (see GapFillers); default true. Off: for comparison.
   */
  fillGaps?: boolean;
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
   * build and KV cache type), so a restart loads them instead of evaluating them, and which llama.cpp binaries passed
   * node-llama-cpp's load test on this machine; unset: a private temporary folder, removed on dispose.
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
  /** Told about every cycle (one decode): how many steps it carried, of which generated tokens and background steps. */
  onCycle?: (report: CycleReport) => void;
}

export type ResolvedEngineOptions = Required<
  Omit<
    EngineOptions,
    'onWarning' | 'onWarmUp' | 'onJobFinished' | 'onCycle' | 'downloadProgress' | 'huggingFaceEndpoint' | 'tasks' | 'taskStatesDir'
  >
>;

/** What the engine's jobs report to (warnings, warm-up progress, settled jobs, cycles). */
export type EngineHooks = Pick<EngineOptions, 'onWarning' | 'onWarmUp' | 'onJobFinished' | 'onCycle'>;

/** Every option with its default filled in (an option given as undefined takes the default). */
export function resolveEngineOptions(options: EngineOptions): ResolvedEngineOptions {
  return { ...ENGINE_DEFAULTS, downloadConnectTimeoutMs: DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS, ...withoutUndefined(options) };
}

/** What loading the model takes of the options. */
export function loadOptionsOf(resolved: ResolvedEngineOptions, options: EngineOptions): LoadModelOptions {
  return {
    model: resolved.model,
    modelsDir: resolved.modelsDir,
    gpu: resolved.gpu,
    useMmap: resolved.useMmap,
    runtime: resolved.runtime,
    downloadConnectTimeoutMs: resolved.downloadConnectTimeoutMs,
    ...(options.downloadProgress ? { downloadProgress: options.downloadProgress } : {}),
    ...(options.huggingFaceEndpoint ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.taskStatesDir === undefined ? {} : { binaryTestVerdicts: createBinaryTestVerdicts(options.taskStatesDir) }),
  };
}

/**
 * node-llama-cpp marks its KV cache type options experimental; a Q8_0 cache with flash attention is what llama.cpp's
 * own tools offer for CPUs (`-ctk q8_0 -ctv q8_0 -fa on`), and the engine's tests run on it.
 */
export function kvCacheOptions(type: KvCacheType) {
  if (type === 'f16') return {};
  return { flashAttention: true, experimentalKvCacheKeyType: 'Q8_0', experimentalKvCacheValueType: 'Q8_0' } as const;
}

/** Every generating reply needs a sequence of its own; more keep idle conversations warm. */
export function chatSequenceCount(options: Pick<ResolvedEngineOptions, 'maxParallelReplies' | 'warmConversations'>): number {
  return Math.max(options.maxParallelReplies, options.warmConversations);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
