// `analyze "text"`: several tasks on one text in one engine job, a line per task (nothing stored).
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import type { Locale } from '../engine/index.js';
import { addModelOptions, localeOption, type ModelFlags } from './options.js';
import { taskListOption } from './taskOptions.js';
import { resultJson, resultLine } from './taskResults.js';
import { withEngine } from './withEngine.js';

interface AnalyzeFlags extends ModelFlags {
  tasks?: string[];
  locale?: Locale;
  json?: boolean;
}

export function analyzeCommand(config: AppConfig): Command {
  const command = new Command('analyze')
    .description('Run several tasks on one text in one engine job and print a line per task')
    .argument('<text>', 'the text to analyze')
    .addOption(taskListOption(config.engine.tasks))
    .addOption(localeOption('prompt language for every task (default: zh for Chinese script, else en)'))
    .option('--json', 'print {locale, results} as JSON, results in the order the tasks ran');
  addModelOptions(command, config);
  return command.action((text: string, flags: AnalyzeFlags) =>
    withEngine(config, flags, async (engine) => {
      const run = await engine.runTasks(text, flags.tasks ?? engine.defaultAnalysis, {
        ...(flags.locale === undefined ? {} : { locale: flags.locale }),
      });
      if (flags.json) return console.log(JSON.stringify({ locale: run.locale, results: run.results.map(resultJson) }));
      for (const result of run.results) console.log(resultLine(result));
    }),
  );
}
