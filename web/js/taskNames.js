// Task and label names in the page language: the built-ins are translated, TASKS_FILE's own show as the server names them.
import { hasString, localize, t } from './i18n.js';

const taskKey = (task) => `task.${task}`;
/** Sentiment's labels keep the keys the badge already uses. */
const labelKey = (task, label) => (task === 'sentiment' ? `label.${label}` : `taskLabel.${task}.${label}`);

export function taskName(task) {
  return hasString(taskKey(task)) ? t(taskKey(task)) : task;
}

export function labelName(task, label) {
  return hasString(labelKey(task, label)) ? t(labelKey(task, label)) : label;
}

/** Puts the task's name in `element`, kept in the page language when the page has a translation for it. */
export function localizeTaskName(element, task) {
  return nameInto(element, taskKey(task), task);
}

export function localizeLabelName(element, task, label) {
  return nameInto(element, labelKey(task, label), label);
}

function nameInto(element, key, name) {
  if (hasString(key)) return localize(element, key);
  element.textContent = name;
  return element;
}
