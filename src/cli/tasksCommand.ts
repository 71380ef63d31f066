// `tasks`: every task the configuration defines (built-ins and TASKS_FILE's), as text or in full as JSON.
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import type { Locale } from '../engine/index.js';
import { formatTaskList } from './formatTasks.js';
import { addModelOptions, localeOption, type ModelFlags } from './options.js';
import { withEngine } from './withEngine.js';

interface TasksFlags extends ModelFlags {
  locale: Locale;
  json?: boolean;
}

export function tasksCommand(config: AppConfig): Command {
  const command = new Command('tasks')
    .description("List every task: kind, description, labels, and how the loaded model's tokenizer scores it")
    .addOption(localeOption('language of the label descriptions and of the scoring shown').default('en'))
    .option('--json', 'print every task in full (both languages, spellings, schemas) and what analyze runs by default');
  addModelOptions(command, config);
  // The model is loaded because a classify task's scoring method depends on how its tokenizer splits the labels.
  return command.action((flags: TasksFlags) =>
    withEngine(config, flags, async (engine) => {
      if (flags.json) return console.log(JSON.stringify({ tasks: engine.tasks(), analyze: engine.defaultAnalysis }));
      process.stdout.write(formatTaskList(engine.tasks(), engine.defaultAnalysis, flags.locale));
    }),
  );
}
