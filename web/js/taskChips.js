// What the chat's other tasks (CHAT_TASKS) found in a message, as chips under its sentiment badge.
import { h } from './dom.js';
import { formatPercent, localize } from './i18n.js';
import { localizeLabelName, localizeTaskName } from './taskNames.js';

/** What a chip needs of a `TaskResult`: a fragment for the chat stream's and the stored conversation's queries. */
export const TASK_RESULT_FIELDS = `fragment TaskResultFields on TaskResult {
  __typename
  ... on Classification { task label confidence }
  ... on Extraction { task value }
}`;

/** An answer that is not a list of strings is shown as compact JSON, cut to this many characters (in full as its title). */
const JSON_PREVIEW_CHARS = 60;

/**
 * The chips for `results` (a Message's `taskResults`), in the order the tasks ran. Sentiment's result is left out:
 * the badge shows it. A classify result is one chip ("intent: complaint", confidence in its title); a list of
 * strings (keywords) is one chip per string after the task's name; any other answer one chip of JSON.
 */
export function taskChips(results) {
  return results
    .filter((result) => result.task !== 'sentiment')
    .map(resultView)
    .filter((view) => view !== null);
}

function resultView(result) {
  if (result.__typename === 'Classification') return classificationChip(result);
  const { task, value } = result;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    if (value.length === 0) return null;
    return h(
      'span',
      { class: 'task-group', dataset: { task } },
      taskPrefix(task),
      value.map((item) =>
        chip({ kind: 'keyword', task, value: item }, h('span', { class: 'task-chip__value', text: item })),
      ),
    );
  }
  const json = JSON.stringify(value);
  const preview = [...json].length > JSON_PREVIEW_CHARS ? `${[...json].slice(0, JSON_PREVIEW_CHARS - 1).join('')}…` : json;
  return chip(
    { kind: 'json', task, value: json, title: json },
    taskPrefix(task),
    h('code', { class: 'task-chip__value', text: preview }),
  );
}

function classificationChip({ task, label, confidence }) {
  const element = chip(
    { kind: 'label', task, label, confidence: String(confidence) },
    taskPrefix(task),
    localizeLabelName(h('strong', { class: 'task-chip__value' }), task, label),
  );
  return localize(element, 'task.confidence', { value: formatPercent(confidence) }, 'title');
}

function chip({ kind, task, title, ...data }, ...children) {
  return h(
    'span',
    { class: `task-chip task-chip--${kind}`, title, dataset: { testid: 'task-chip', kind, task, ...data } },
    ...children,
  );
}

function taskPrefix(task) {
  return h('span', { class: 'task-chip__task' }, localizeTaskName(h('span'), task), ': ');
}
