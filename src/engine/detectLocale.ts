// Picks the prompt language for a text when the user did not fix one: Chinese script → zh, otherwise en.

import type { Locale } from './prompts.js';

// Han ideographs (incl. extension A and compatibility forms) and CJK punctuation / full-width forms.
const CHINESE_SCRIPT = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]/u;

export function detectLocale(text: string): Locale {
  return CHINESE_SCRIPT.test(text) ? 'zh' : 'en';
}
