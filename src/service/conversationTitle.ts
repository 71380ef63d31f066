// A conversation's title from its first message: one line, cut between user-perceived characters, never inside one.

/** Characters as a reader counts them (grapheme clusters): an emoji with its modifiers or ZWJ joins counts once. */
export const TITLE_MAX_CHARACTERS = 60;
/**
 * A bound in UTF-16 units as well: one grapheme cluster may carry any number of combining marks, and a title is
 * shown in lists, not read in full.
 */
export const TITLE_MAX_UNITS = 4 * TITLE_MAX_CHARACTERS;
const ELLIPSIS = '…';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function titleOf(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  const clusters = Array.from(graphemes.segment(flat), ({ segment }) => segment);
  if (clusters.length <= TITLE_MAX_CHARACTERS && flat.length <= TITLE_MAX_UNITS) return flat;
  let title = '';
  for (const cluster of clusters.slice(0, TITLE_MAX_CHARACTERS - 1)) {
    if (title.length + cluster.length > TITLE_MAX_UNITS - ELLIPSIS.length) break;
    title += cluster;
  }
  return `${title}${ELLIPSIS}`;
}
