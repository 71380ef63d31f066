// The page language: zh or en, chosen by the user or taken from the browser, applied to every [data-i18n] element.
import { STRINGS } from './strings.js';

let current = 'en';
const listeners = new Set();

/** The user's earlier choice wins; otherwise the browser's first language (any zh-* → zh). */
export function pickLocale(stored, languages) {
  if (stored === 'zh' || stored === 'en') return stored;
  return (languages[0] ?? '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function locale() {
  return current;
}

/** The GraphQL `Locale` for the current language: prompts and display lines follow the page. */
export function apiLocale() {
  return current === 'zh' ? 'ZH' : 'EN';
}

/** Whether the page has a string for `key` (a built-in task's name has one; a TASKS_FILE task's has not). */
export function hasString(key) {
  return Object.hasOwn(STRINGS.en, key);
}

export function t(key, args = {}) {
  const template = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) => (name in args ? String(args[name]) : match));
}

export function setLocale(next) {
  current = next === 'zh' ? 'zh' : 'en';
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  translate(document);
  for (const listener of listeners) listener(current);
}

export function onLocaleChange(listener) {
  listeners.add(listener);
}

/**
 * Marks `element` as showing `key` (with `args`) and fills it in now; `setLocale` refreshes it later.
 * `attribute` puts the text in an attribute (placeholder, title, aria-label) instead of the content.
 */
export function localize(element, key, args, attribute) {
  const name = attribute ? `i18n${attribute.replace(/(^|-)(\w)/g, (_, dash, letter) => letter.toUpperCase())}` : 'i18n';
  element.dataset[name] = key;
  if (args) element.dataset.i18nArgs = JSON.stringify(args);
  else delete element.dataset.i18nArgs;
  apply(element);
  return element;
}

const ATTRIBUTES = ['placeholder', 'title', 'aria-label'];

function translate(root) {
  const selector = ['[data-i18n]', ...ATTRIBUTES.map((attribute) => `[data-i18n-${attribute}]`)].join(',');
  for (const element of root.querySelectorAll(selector)) apply(element);
}

function apply(element) {
  const args = element.dataset.i18nArgs ? JSON.parse(element.dataset.i18nArgs) : undefined;
  if (element.dataset.i18n) element.textContent = t(element.dataset.i18n, args);
  for (const attribute of ATTRIBUTES) {
    const key = element.getAttribute(`data-i18n-${attribute}`);
    if (key) element.setAttribute(attribute, t(key, args));
  }
}

export function formatPercent(value) {
  return new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en', { style: 'percent', maximumFractionDigits: 0 }).format(
    value,
  );
}

export function formatDateTime(value, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  return new Intl.DateTimeFormat(current === 'zh' ? 'zh-CN' : 'en', options).format(new Date(value));
}
