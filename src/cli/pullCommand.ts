// `pull [MODEL]`: makes a model available offline: downloads an hf: model (progress bar) or generates a synthetic one.
import path from 'node:path';
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import { resolveModelSource } from '../engine/index.js';
import { createDownloadProgressBar } from '../terminal/progressBar.js';
import { positiveInteger } from './options.js';

const BYTES_PER_MB = 1_000_000;

export function pullCommand(config: AppConfig): Command {
  return new Command('pull')
    .description('Download an hf: model into MODELS_DIR (or generate a synthetic one) so that serving starts offline')
    .argument('[model]', 'hf: URI, synthetic:<shape> or a .gguf path to check (default: env MODEL)', config.engine.model)
    .option('--models-dir <dir>', 'where models are kept (env MODELS_DIR)', config.engine.modelsDir)
    .option(
      '--connect-timeout <ms>',
      'give up when the model host does not answer within this time (env MODEL_CONNECT_TIMEOUT_MS)',
      positiveInteger,
      config.engine.downloadConnectTimeoutMs,
    )
    .action(async (model: string, flags: { modelsDir: string; connectTimeout: number }) => {
      const source = await resolveModelSource({
        model,
        modelsDir: path.resolve(flags.modelsDir),
        downloadProgress: createDownloadProgressBar(),
        downloadConnectTimeoutMs: flags.connectTimeout,
        onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
      });
      const size = (source.sizeBytes / BYTES_PER_MB).toFixed(1);
      console.log(`${source.spec}: ready at ${source.path} (${size} MB${source.synthetic ? ', synthetic' : ''})`);
    });
}
