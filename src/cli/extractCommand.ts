// `extract --task NAME "text"`: one extract task on one text; prints its JSON answer (nothing stored).
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import type { Locale } from '../engine/index.js';
import { addModelOptions, localeOption, type ModelFlags } from './options.js';
import { taskOption } from './taskOptions.js';
import { runOneTask } from './taskResults.js';
import { withEngine } from './withEngine.js';

interface ExtractFlags extends ModelFlags {
  task: string;
  locale?: Locale;
  json?: boolean;
}

export function extractCommand(config: AppConfig): Command {
  const command = new Command('extract')
    .description("Run an extract task on one text and print its answer, JSON that matches the task's schema")
    .argument('<text>', 'the text to extract from')
    .addOption(taskOption(config.engine.tasks, 'extract'))
    .addOption(localeOption('prompt language (default: zh for Chinese script, else en)'))
    .option('--json', 'print {task, value, locale} as JSON');
  addModelOptions(command, config);
  return command.action((text: string, flags: ExtractFlags) =>
    withEngine(config, flags, async (engine) => {
      const { locale, result } = await runOneTask(engine, text, flags.task, 'extract', flags.locale);
      console.log(JSON.stringify(flags.json ? { task: result.task, value: result.value, locale } : result.value));
    }),
  );
}
