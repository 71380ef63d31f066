// The engine's settings from the validated configuration, shared by the server and the CLI commands.
import type { AppConfig } from './config.js';
import type { EngineOptions } from './engine/index.js';
import { createDownloadProgressBar } from './terminal/progressBar.js';

/** Includes a download progress bar on stderr, drawn only on a terminal and only once a download has started. */
export function engineOptionsOf(config: AppConfig): EngineOptions {
  return {
    model: config.model,
    modelsDir: config.modelsDir,
    ...(config.taskStatesDir === undefined ? {} : { taskStatesDir: config.taskStatesDir }),
    downloadConnectTimeoutMs: config.modelConnectTimeoutMs,
    ...(config.huggingFaceEndpoint ? { huggingFaceEndpoint: config.huggingFaceEndpoint } : {}),
    downloadProgress: createDownloadProgressBar(),
    threads: config.threads,
    contextSize: config.contextSize,
    batchSize: config.batchSize,
    warmConversations: config.warmConversations,
    maxParallelReplies: config.maxParallelReplies,
    taskSequences: config.taskSequences,
    runtime: config.runtime,
    kvCacheType: config.kvCacheType,
    tasks: config.tasks,
    maxQueue: config.maxQueue,
    maxQueuePerKey: config.maxQueuePerKey,
    jobTimeoutMs: config.jobTimeoutMs,
    maxInputChars: config.maxInputChars,
    maxBatchTexts: config.maxBatchTexts,
    gpu: config.gpu,
    useMmap: config.useMmap,
  };
}
