// `classify --task NAME "text"`: one classify task on one text, its label and every label's probability (nothing stored).
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import type { Locale } from '../engine/index.js';
import { addModelOptions, localeOption, type ModelFlags } from './options.js';
import { taskOption } from './taskOptions.js';
import { formatClassification, runOneTask } from './taskResults.js';
import { withEngine } from './withEngine.js';

interface ClassifyFlags extends ModelFlags {
  task: string;
  locale?: Locale;
  json?: boolean;
}

export function classifyCommand(config: AppConfig): Command {
  const command = new Command('classify')
    .description('Run a classify task on one text: prints e.g. "intent: complaint (87%)" and every label\'s probability')
    .argument('<text>', 'the text to classify')
    .addOption(taskOption(config.engine.tasks, 'classify'))
    .addOption(localeOption('prompt language (default: zh for Chinese script, else en)'))
    .option('--json', 'print {task, label, confidence, scores, locale} as JSON');
  addModelOptions(command, config);
  return command.action((text: string, flags: ClassifyFlags) =>
    withEngine(config, flags, async (engine) => {
      const { locale, result } = await runOneTask(engine, text, flags.task, 'classify', flags.locale);
      if (!flags.json) return console.log(formatClassification(result));
      const { task, label, confidence, scores } = result;
      console.log(JSON.stringify({ task, label, confidence, scores, locale }));
    }),
  );
}
