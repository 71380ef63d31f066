// A conversation's title is cut between user-perceived characters: never half an emoji, nor a broken ZWJ sequence.
import { describe, expect, it } from 'vitest';
import { TITLE_MAX_CHARACTERS, TITLE_MAX_UNITS, titleOf } from '../src/service/conversationTitle.js';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const clustersOf = (text: string) => Array.from(graphemes.segment(text), ({ segment }) => segment);
const FAMILY = '👨‍👩‍👧‍👦';
const THUMBS_UP_DARK = '👍🏿';
const FLAG = '🇨🇳';

describe('titleOf', () => {
  it('keeps a short message whole, on one line', () => {
    expect(titleOf('  I finally\n passed\tthe exam!  ')).toBe('I finally passed the exam!');
    expect(titleOf(THUMBS_UP_DARK.repeat(TITLE_MAX_CHARACTERS))).toBe(THUMBS_UP_DARK.repeat(TITLE_MAX_CHARACTERS));
  });

  it.each([
    ['emoji outside the BMP', '😀'],
    ['a ZWJ family', FAMILY],
    ['an emoji with a skin tone', THUMBS_UP_DARK],
    ['a flag (two regional indicators)', FLAG],
  ])('cuts a long run of %s between whole characters', (_, emoji) => {
    // An odd prefix puts the cut inside a surrogate pair or a sequence for every UTF-16 offset.
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const title = titleOf(prefix + emoji.repeat(100));
      expect(title.isWellFormed()).toBe(true);
      expect(title.endsWith('…')).toBe(true);
      const clusters = clustersOf(title.slice(0, -1));
      expect(clusters.length).toBeLessThanOrEqual(TITLE_MAX_CHARACTERS - 1);
      expect(clusters.slice(prefix.length).every((cluster) => cluster === emoji)).toBe(true);
    }
  });

  it('counts characters, not UTF-16 units: 59 whole emoji and an ellipsis', () => {
    const title = titleOf('😀'.repeat(TITLE_MAX_CHARACTERS + 1));
    expect(title).toBe(`${'😀'.repeat(TITLE_MAX_CHARACTERS - 1)}…`);
  });

  it('bounds a title of characters carrying many combining marks', () => {
    const heavy = `e${'\u0301'.repeat(30)}`;
    const title = titleOf(heavy.repeat(20));
    expect(title.length).toBeLessThanOrEqual(TITLE_MAX_UNITS);
    expect(clustersOf(title.slice(0, -1)).every((cluster) => cluster === heavy)).toBe(true);
  });
});
