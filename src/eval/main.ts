// Entry point of `npm run eval`: load the config, parse the command line, run, turn failures into exit codes.

import { ConfigError, loadConfig } from '../config.js';
import { EngineError } from '../engine/errors.js';
import { EvalError } from './errors.js';
import { createEvalCommand } from './evalCommand.js';

/** Conventional exit status after Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());

try {
  await createEvalCommand({ config: loadConfig().engine, signal: controller.signal }).parseAsync(process.argv);
} catch (error) {
  if (controller.signal.aborted) {
    process.stderr.write('eval: interrupted\n');
    process.exitCode = EXIT_INTERRUPTED;
  } else if (error instanceof EvalError || error instanceof EngineError || error instanceof ConfigError) {
    // Expected failures (bad data, missing model, bad setting) read better as one line than as a stack.
    process.stderr.write(`eval: ${error.message} [${error.code}]\n`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
