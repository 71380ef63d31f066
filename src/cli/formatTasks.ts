// The task catalog as text for a terminal: per task its kind and scoring, its description, and its labels or schema.
import type { Locale, TaskInfo } from '../engine/index.js';

function describeTask(task: TaskInfo, locale: Locale): string[] {
  if (task.kind === 'extract') {
    return [
      `${task.name}: extract, JSON under a grammar, at most ${task.maxTokens} tokens`,
      `  ${task.description}`,
      `  answer schema: ${JSON.stringify(task.schema)}`,
    ];
  }
  const width = Math.max(...task.labels.map((label) => label.name.length));
  return [
    `${task.name}: classify, ${task.scoring[locale]} scoring (${locale})`,
    `  ${task.description}`,
    ...task.labels.map((label) => {
      // The word the model answers with, where it is not the name itself (e.g. 投诉 for complaint).
      const word = label.spellings[locale][0];
      const answered = word === undefined || word.toLowerCase() === label.name ? '' : `${word}: `;
      return `    ${label.name.padEnd(width)}  ${answered}${label.description[locale]}`;
    }),
  ];
}

export function formatTaskList(tasks: readonly TaskInfo[], analyze: readonly string[], locale: Locale): string {
  const sections = tasks.map((task) => describeTask(task, locale).join('\n'));
  return `${sections.join('\n\n')}\n\nanalyze runs by default: ${analyze.join(', ')}\n`;
}
