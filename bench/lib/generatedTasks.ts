// A TASKS_FILE of N generated tasks (classify and extract alternating), for measuring how start-up grows with tasks.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Instructions about as long as a real operator's (examples/support-tickets.yaml), so their prompts cost as much. */
function classifyTask(index: number) {
  const labels = ['low', 'medium', 'high'].map((level) => ({
    name: `${level}_${index}`,
    description: { en: `the text is of ${level} concern for topic ${index}`, zh: `文本对主题 ${index} 的关注程度为${level}` },
    spellings: { en: [`${level}${index}`], zh: [`${level}${index}`] },
  }));
  return {
    kind: 'classify',
    name: `generated_${index}`,
    description: `Generated classify task number ${index}.`,
    instruction: {
      en: `Decide how much the user's text concerns topic number ${index} of the support desk, from low to high.`,
      zh: `判断用户的文本与客服主题 ${index} 的相关程度，从低到高。`,
    },
    labels,
  };
}

function extractTask(index: number) {
  return {
    kind: 'extract',
    name: `generated_${index}`,
    description: `Generated extract task number ${index}.`,
    instruction: {
      en: `List the phrases of the user's text that concern topic number ${index}, as a JSON array of strings.`,
      zh: `以 JSON 字符串数组列出用户文本中与主题 ${index} 有关的短语。`,
    },
    schema: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 16 }, maxItems: 3 },
  };
}

/** Writes `count` tasks named `generated_0` … into `dir` and returns the file's path. */
export function writeGeneratedTasksFile(dir: string, count: number): string {
  const tasks = Array.from({ length: count }, (_, index) => (index % 2 === 0 ? classifyTask(index) : extractTask(index)));
  const file = path.join(dir, `generated-tasks-${count}.json`);
  writeFileSync(file, JSON.stringify({ tasks }));
  return file;
}
