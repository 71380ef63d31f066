// The engine's public surface: what the service layer, the CLI and the benchmarks may use.
export { Engine, ENGINE_DEFAULTS, SAMPLING_DEFAULTS } from './Engine.js';
export type {
  ChatRequest,
  ClassifyOptions,
  EngineOptions,
  EngineStatus,
  JobOptions,
  KvCacheType,
  SteeringLabel,
  TaskResult,
  TaskRun,
  TaskRunOptions,
  WarmUpProgress,
} from './Engine.js';
export { detectLocale } from './detectLocale.js';
export { loadTaskDefinitions, TaskDefinitionError, type TaskCatalog } from './tasks/loadTaskDefinitions.js';
export type { TaskInfo } from './tasks/TaskRegistry.js';
export type { ScoringMethod } from './tasks/Classifier.js';
export type { ClassifyTaskDefinition, ExtractSchema, ExtractTaskDefinition, LabelDefinition, TaskDefinition } from './tasks/definitions.js';
export type { ChatStream } from './ChatStream.js';
export type { AbortSignalLike } from '../forwardAbort.js';
export type { FinishReason, ReplyResult } from './generateReply.js';
export { DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS, resolveModelSource } from './loadModel.js';
export type { DownloadProgress, LlamaRuntime, ModelSource, ModelSourceKind, ModelSourceOptions } from './loadModel.js';
export type { EngineErrorCode, JobFinishedEvent, JobOutcome } from './JobProgress.js';
export { SENTIMENT_LABELS, sentimentDisplay, sentimentEmoji } from './prompts.js';
export type { ChatTurn, Locale, SentimentLabel } from './prompts.js';
export type { SentimentMethod, SentimentResult, SentimentScores } from './SentimentClassifier.js';
export { AbortedError, BadInputError, EngineBusyError, EngineError, ModelUnavailableError, TimeoutError } from './errors.js';
export type { JobKind, MutexScope } from './Scheduler.js';
