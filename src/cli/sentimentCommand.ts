// `sentiment "text"`: loads the model, classifies one text and prints the display line (or the whole result).
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import type { Locale } from '../engine/index.js';
import { detectLocale } from '../engine/detectLocale.js';
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
      const result = await engine.classify(text, { locale: flags.locale ?? detectLocale(text) });
      if (!flags.json) return console.log(result.display);
      const { label, confidence, scores, display, locale, latencyMs } = result;
      console.log(JSON.stringify({ label, confidence, scores, display, locale, latencyMs }));
    }),
  );
}
