// Command-line entry point (`all-in-one`): one commander program, each subcommand built by its own function.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { analyzeCommand } from './cli/analyzeCommand.js';
import { analyzeFileCommand } from './cli/analyzeFileCommand.js';
import { chatCommand } from './cli/chatCommand.js';
import { classifyCommand } from './cli/classifyCommand.js';
import { extractCommand } from './cli/extractCommand.js';
import { pullCommand } from './cli/pullCommand.js';
import { sentimentCommand } from './cli/sentimentCommand.js';
import { serveCommand } from './cli/serveCommand.js';
import { statsCommand } from './cli/statsCommand.js';
import { synthModelCommand } from './cli/synthModelCommand.js';
import { tasksCommand } from './cli/tasksCommand.js';
import { loadConfig, type AppConfig } from './config.js';
import { createEvalCommand } from './eval/evalCommand.js';
import { exitWith } from './exitWith.js';

/** Conventional exit status after Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;
const SIGNALLED_COMMANDS = new Set(['eval', 'analyze-file']);

export interface CliOptions {
  /** Every command's defaults (flags override them); normally `loadConfig()`. */
  config: AppConfig;
  /** Aborts a long evaluation or file analysis; `runCli` wires it to Ctrl-C while `eval` or `analyze-file` runs. */
  signal?: AbortSignal;
}

/** The whole CLI; add a subcommand by writing one more `xCommand()` and registering it here. */
export function createCli({ config, signal }: CliOptions): Command {
  return new Command('all-in-one')
    .description('One small local LLM for sentiment analysis, other text tasks by prompt, and empathetic chat')
    .showHelpAfterError()
    .addCommand(serveCommand(config))
    .addCommand(pullCommand(config))
    .addCommand(sentimentCommand(config))
    .addCommand(tasksCommand(config))
    .addCommand(classifyCommand(config))
    .addCommand(extractCommand(config))
    .addCommand(analyzeCommand(config))
    .addCommand(analyzeFileCommand(config, signal))
    .addCommand(chatCommand(config))
    .addCommand(statsCommand(config))
    .addCommand(createEvalCommand({ config: config.engine, ...(signal ? { signal } : {}) }))
    .addCommand(synthModelCommand());
}

/** Loads the configuration, runs the command, and turns failures into one line and an exit status. */
export async function runCli(argv: readonly string[] = process.argv): Promise<void> {
  const interrupted = new AbortController();
  try {
    const cli = createCli({ config: loadConfig(), signal: interrupted.signal });
    // Only `eval` and `analyze-file` stop on the signal (the latter to give an in-process job's claimed items back);
    // the others keep Node's default (exit) or handle Ctrl-C themselves.
    cli.hook('preAction', (_, command) => {
      if (SIGNALLED_COMMANDS.has(command.name())) process.once('SIGINT', () => interrupted.abort());
    });
    await cli.parseAsync(argv);
  } catch (error) {
    if (!interrupted.signal.aborted) exitWith(error);
    process.stderr.write('all-in-one: interrupted\n');
    process.exit(EXIT_INTERRUPTED);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runCli();
}
