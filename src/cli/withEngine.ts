// Loads the engine for one command, with its warnings on stderr, and disposes of it whatever the command's outcome.
import type { AppConfig } from '../config.js';
import { Engine } from '../engine/index.js';
import { engineOptionsOf } from '../engineOptions.js';
import { withFlags, type ModelFlags } from './options.js';

export async function withEngine<T>(config: AppConfig, flags: ModelFlags, use: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.load({
    ...engineOptionsOf(withFlags(config, flags)),
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  });
  try {
    return await use(engine);
  } finally {
    await engine.dispose();
  }
}
