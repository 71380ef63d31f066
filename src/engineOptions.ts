// The engine's options from the validated configuration, with progress on a terminal; shared by the server and the CLI.
import type { AppConfig } from './config.js';
import type { EngineOptions } from './engine/index.js';
import { createDownloadProgressBar, createProgressBar } from './terminal/progressBar.js';

/**
 * Adds progress bars on stderr, drawn only on a terminal: the download's, once one has started, and the warm-up of
 * the task instructions' (the server replaces the latter with log lines).
 */
export function engineOptionsOf(config: AppConfig): EngineOptions {
  const warmUp = createProgressBar({ format: 'warming up task instructions [{bar}] {value}/{total}' });
  return {
    ...config.engine,
    downloadProgress: createDownloadProgressBar(),
    onWarmUp: ({ done, total }) => {
      warmUp.update(done, total);
      if (done === total) warmUp.stop();
    },
  };
}
