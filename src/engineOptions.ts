// The engine's settings from the validated configuration, shared by the server and the CLI commands.
import type { AppConfig } from './config.js';
import type { EngineOptions } from './engine/index.js';
import { createDownloadProgressBar, createProgressBar } from './terminal/progressBar.js';

/**
 * Includes progress bars on stderr, drawn only on a terminal: the download's, once one has started, and the warm-up of
 * the task instructions' (the server replaces the latter with log lines).
 */
export function engineOptionsOf(config: AppConfig): EngineOptions {
  const warmUp = createProgressBar({ format: 'warming up task instructions [{bar}] {value}/{total}' });
  return {
    model: config.model,
    modelsDir: config.modelsDir,
    ...(config.taskStatesDir === undefined ? {} : { taskStatesDir: config.taskStatesDir }),
    downloadConnectTimeoutMs: config.modelConnectTimeoutMs,
    ...(config.huggingFaceEndpoint ? { huggingFaceEndpoint: config.huggingFaceEndpoint } : {}),
    downloadProgress: createDownloadProgressBar(),
    onWarmUp: ({ done, total }) => {
      warmUp.update(done, total);
      if (done === total) warmUp.stop();
    },
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
