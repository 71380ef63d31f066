// Realistic inputs: English and Chinese sentences of ordinary length, from the shared evaluation sets when present.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Locale } from '../../src/engine/index.js';
import { SHARED_EVALDATA_DIR } from './paths.js';

export interface Sentence {
  text: string;
  locale: Locale;
}

export interface SentenceSet {
  en: Sentence[];
  zh: Sentence[];
  /** Where the sentences came from, for the report. */
  source: string;
}

/** Ordinary length: a review line or a chat message, not a headline and not an essay. */
const LENGTH_CHARS: Record<Locale, { min: number; max: number }> = {
  en: { min: 60, max: 200 },
  zh: { min: 20, max: 80 },
};
/** More than any benchmark uses; the sets are read once per run. */
const MAX_PER_LOCALE = 64;

/** Used when ../shared/evaldata is absent, so the benchmarks never depend on it. */
const FALLBACK: Record<Locale, readonly string[]> = {
  en: [
    'The delivery came two days late and the box was crushed, but the headphones inside work perfectly.',
    'I finally passed my driving test after three attempts, and I cannot stop smiling about it.',
    'The new update made the app slower, and now it logs me out every time I switch screens.',
    'Our team meeting ran long again today, so I had to skip lunch and eat at my desk.',
    'The hotel staff remembered my name on the second day, which made the whole stay feel warm.',
    'I have been waiting on hold with customer support for forty minutes and nobody has answered yet.',
    'The museum was quieter than I expected on a Sunday afternoon, and the new exhibit was worth the trip.',
    'My flight was cancelled without any explanation, and the rebooking fee was outrageous.',
    'The recipe was simple to follow, although the bread came out a little denser than the photo.',
    'She said the report looked fine, but I still have no idea whether they will approve the budget.',
    'After a week of rain the sun came out this morning, and the whole neighbourhood went for a walk.',
    'The landlord raised the rent again while the heating has been broken since November.',
  ],
  zh: [
    '今天的实验终于成功了，连续熬了三个晚上，真的太开心了！',
    '快递又晚了两天，包装还被压坏了，客服一直推脱责任。',
    '这家餐厅环境不错，菜的味道一般，价格倒是挺合理的。',
    '下午开了三个小时的会，什么结论都没有，感觉白白浪费了时间。',
    '房间干净整洁，前台服务热情，下次出差还会选择这里。',
    '新版本更新以后，手机发热严重，电池一天要充三次电。',
    '周末带孩子去了公园，天气晴朗，大家玩得都很尽兴。',
    '等了一个小时还没上菜，问了两次服务员都说马上就好。',
    '这本书前半部分有点拖沓，后面的情节越来越精彩。',
    '面试结束了，不知道结果怎么样，心里一直七上八下的。',
    '地铁今天又出故障了，上班迟到被扣了全勤奖，真倒霉。',
    '老同学突然打电话来约我吃饭，聊了很多大学时候的事情。',
  ],
};

/** English from SST-2 (`text<TAB>label`) and Chinese from ChnSentiCorp (`label<TAB>text_a`), else the built-in set. */
export function loadSentences(): SentenceSet {
  const en = readColumn(path.join(SHARED_EVALDATA_DIR, 'sst2', 'dev.tsv'), 'text', 'en');
  const zh = readColumn(path.join(SHARED_EVALDATA_DIR, 'chnsenticorp', 'dev.tsv'), 'text_a', 'zh');
  const fromShared = en.length >= 8 && zh.length >= 8;
  if (fromShared) {
    return { en, zh, source: 'SST-2 dev (English) and ChnSentiCorp dev (Chinese) from ../shared/evaldata' };
  }
  return {
    en: FALLBACK.en.map((text) => ({ text, locale: 'en' })),
    zh: FALLBACK.zh.map((text) => ({ text, locale: 'zh' })),
    source: 'the built-in sentences of bench/lib/sentences.ts (../shared/evaldata not found)',
  };
}

/** English and Chinese sentences alternating, `count` in all, so every benchmark sees both languages. */
export function mixedSentences(set: SentenceSet, count: number): Sentence[] {
  return Array.from({ length: count }, (_, index) => {
    const pool = index % 2 === 0 ? set.en : set.zh;
    return pool[Math.floor(index / 2) % pool.length]!;
  });
}

function readColumn(file: string, column: string, locale: Locale): Sentence[] {
  if (!existsSync(file)) return [];
  const [header, ...lines] = readFileSync(file, 'utf8').split(/\r?\n/);
  const index = header?.split('\t').indexOf(column) ?? -1;
  if (index < 0) return [];
  const { min, max } = LENGTH_CHARS[locale];
  const sentences: Sentence[] = [];
  for (const line of lines) {
    const text = line.split('\t')[index]?.trim();
    if (text && text.length >= min && text.length <= max) sentences.push({ text, locale });
    if (sentences.length >= MAX_PER_LOCALE) break;
  }
  return sentences;
}
