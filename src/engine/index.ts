// The engine's public surface: what the service layer, the CLI and the benchmarks may use.
export { Engine } from './Engine.js';
export { ENGINE_DEFAULTS, SAMPLING_DEFAULTS } from './EngineOptions.js';
export type { EngineOptions, KvCacheType } from './EngineOptions.js';
export type {
  ChatRequest,
  Completion,
  EngineStatus,
  JobOptions,
  SteeringLabel,
  TaskResult,
  TaskRun,
  TaskRunOptions,
  WarmUpProgress,
} from './types.js';
export type { CompleteOptions } from './complete.js';
export { detectLocale } from './detectLocale.js';
export { loadTaskDefinitions, TaskDefinitionError, type TaskCatalog } from './tasks/loadTaskDefinitions.js';
export type { TaskInfo } from './tasks/TaskRegistry.js';
export type { Classification, ScoringMethod } from './tasks/Classifier.js';
export type { ClassifyTaskDefinition, ExtractSchema, ExtractTaskDefinition, LabelDefinition, TaskDefinition } from './tasks/definitions.js';
export { SENTIMENT_DEFINITION, SENTIMENT_LABELS, SENTIMENT_TASK_NAME, type SentimentLabel } from './tasks/builtinTasks.js';
export type { ChatStream } from './chat/ChatStream.js';
export type { AbortSignalLike } from '../forwardAbort.js';
export type { FinishReason, ReplyResult } from './chat/generateReply.js';
export { DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS, resolveModelSource } from './loadModel.js';
export type { DownloadProgress, LlamaRuntime, ModelSource, ModelSourceKind, ModelSourceOptions } from './loadModel.js';
export type { EngineErrorCode, JobFinishedEvent, JobOutcome } from './JobProgress.js';
export type { ChatTurn, Locale, PromptPart } from './prompts.js';
export { AbortedError, BackgroundDisabledError, BadInputError, EngineBusyError, EngineError, ModelUnavailableError, TimeoutError } from './errors.js';
export type { JobKind, MutexScope } from './Scheduler.js';
export type { CycleReport } from './StepBatcher.js';
