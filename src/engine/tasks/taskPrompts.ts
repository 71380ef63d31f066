// The prompts of tasks defined as data: the instruction, the labels listed with their meaning, the answer lead.
import { taskPrefix, taskSuffix, type Locale, type PromptPart } from '../prompts.js';
import type { ClassifierPrompt, ClassifierTask } from './Classifier.js';
import type { ClassifyTaskDefinition, ExtractTaskDefinition } from './definitions.js';

/**
 * The English answer is pre-filled up to "Label:", so the next token is the label with its leading space (Qwen's BPE
 * keeps it inside the token); Chinese needs no lead, the instruction makes the label the answer's first word.
 */
const ANSWER_LEAD: Record<Locale, string> = { en: 'Label:', zh: '' };

const LABEL_LIST_INTRO: Record<Locale, string> = {
  en: 'Answer with exactly one of these labels, nothing else:',
  zh: '只回答下列标签中的一个，不要解释：',
};

const JSON_ONLY: Record<Locale, string> = { en: 'Answer with JSON only.', zh: '只用 JSON 回答。' };

function classifyPrompt(task: ClassifyTaskDefinition, locale: Locale): ClassifierPrompt {
  const colon = locale === 'zh' ? '：' : ': ';
  const list = task.labels.map((label) => `- ${label.spellings[locale][0]}${colon}${label.description[locale]}`);
  const system = task.prompt?.system[locale] ?? [task.instruction[locale], LABEL_LIST_INTRO[locale], ...list].join('\n');
  const lead = task.prompt?.answerLead[locale] ?? ANSWER_LEAD[locale];
  return {
    prefix: taskPrefix(system),
    suffix: taskSuffix(lead),
    spellings: Object.fromEntries(
      task.labels.map((label) => [
        label.name,
        label.spellings[locale].map((spelling) => (lead ? ` ${spelling}` : spelling)),
      ]),
    ),
  };
}

/** A classify task as the classifier runs it. */
export function classifierTaskOf(task: ClassifyTaskDefinition): ClassifierTask {
  return {
    name: task.name,
    labels: task.labels.map((label) => label.name),
    prompts: { zh: classifyPrompt(task, 'zh'), en: classifyPrompt(task, 'en') },
  };
}

export interface ExtractPrompt {
  prefix: PromptPart[];
  /** What follows the text: the opening of the answer. */
  suffix: PromptPart[];
}

export function extractPrompt(task: ExtractTaskDefinition, locale: Locale): ExtractPrompt {
  return {
    prefix: taskPrefix(`${task.instruction[locale]}\n${JSON_ONLY[locale]}`),
    suffix: taskSuffix(''),
  };
}
