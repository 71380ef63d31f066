// `sentiment "text"`: loads the model, classifies one text and prints the display line (or the whole result).
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import { SENTIMENT_TASK_NAME, type Locale, type SentimentLabel } from '../engine/index.js';
import { detectLocale } from '../engine/detectLocale.js';
import { sentimentDisplay } from '../service/sentimentDisplay.js';
import { addModelOptions, localeOption, type ModelFlags } from './options.js';
import { withEngine } from './withEngine.js';

interface SentimentFlags extends ModelFlags {
  locale?: Locale;
  json?: boolean;
}

export function sentimentCommand(config: AppConfig): Command {
  const command = new Command('sentiment')
    .description('Classify one text and print its sentiment line, e.g. "😄 LLM 情感判断: 正面" (nothing is stored)')
    .argument('<text>', 'the text to classify')
    .addOption(localeOption('prompt and display language (default: zh for Chinese script, else en)'))
    .option('--json', 'print the whole result as JSON: label, confidence, scores, display');
  addModelOptions(command, config);
  return command.action((text: string, flags: SentimentFlags) =>
    withEngine(config, flags, async (engine) => {
      const { locale, results } = await engine.runTasks(text, [SENTIMENT_TASK_NAME], { locale: flags.locale ?? detectLocale(text) });
      const { label, confidence, scores, latencyMs } = results[0] as Extract<(typeof results)[number], { kind: 'classify' }>;
      const display = sentimentDisplay(label as SentimentLabel, locale);
      if (!flags.json) return console.log(display);
      console.log(JSON.stringify({ label, confidence, scores, display, locale, latencyMs }));
    }),
  );
}
