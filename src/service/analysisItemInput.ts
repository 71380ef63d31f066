// Items sent to an analysis job as they are stored: a call with a malformed id or tag is refused whole; a text that
// could never run (U+0000, a lone surrogate) is stored already failed with INVALID_TEXT, so the rest of the file goes on.
import type { NewAnalysisItem, Tag } from '../db/index.js';
import { BadInputError } from '../engine/index.js';

/** Longest external id, tag key and tag value, in UTF-16 units: ids and columns of a file, never prose. */
export const MAX_EXTERNAL_ID_LENGTH = 256;
export const MAX_TAG_KEY_LENGTH = 64;
export const MAX_TAG_VALUE_LENGTH = 256;
/** Most tags on one item: a file's columns beside its text. */
export const MAX_TAGS_PER_ITEM = 32;

export const INVALID_TEXT_CODE = 'INVALID_TEXT';

export interface AnalysisItemInput {
  text: string;
  externalId?: string | null;
  tags?: readonly Tag[] | null;
}

/** The items as the repository stores them; throws BadInputError naming the first item (from 1) that cannot be. */
export function toNewAnalysisItems(items: readonly AnalysisItemInput[]): NewAnalysisItem[] {
  return items.map((item, index) => {
    const where = `item #${index + 1}`;
    const externalId = item.externalId ?? null;
    if (externalId !== null) checkLabel(externalId, `${where}: externalId`, MAX_EXTERNAL_ID_LENGTH);
    const tags = item.tags ?? [];
    if (tags.length > MAX_TAGS_PER_ITEM) {
      throw new BadInputError({ message: `${where} has ${tags.length} tags; an item has at most ${MAX_TAGS_PER_ITEM}.` });
    }
    const keys = new Set<string>();
    for (const { key, value } of tags) {
      checkLabel(key, `${where}: a tag key`, MAX_TAG_KEY_LENGTH);
      checkLabel(value, `${where}: tag "${key}"'s value`, MAX_TAG_VALUE_LENGTH, { emptyAllowed: true });
      if (keys.has(key)) throw new BadInputError({ message: `${where} has the tag "${key}" twice; a key may appear once.` });
      keys.add(key);
    }
    const stored = { externalId, tags: tags.map(({ key, value }) => ({ key, value })) };
    const problem = invalidTextProblem(item.text);
    if (problem === undefined) return { text: item.text, ...stored };
    return {
      // What can be stored of it: a lone surrogate or a NUL becomes U+FFFD.
      text: item.text.toWellFormed().replaceAll('\u0000', '\uFFFD'),
      ...stored,
      error: { code: INVALID_TEXT_CODE, message: problem },
    };
  });
}

/** Why a text cannot be stored as given (and so never runs), or undefined. */
function invalidTextProblem(text: string): string | undefined {
  if (!text.isWellFormed()) return 'The text contains a lone UTF-16 surrogate, which is not valid text.';
  const nul = text.indexOf('\u0000');
  if (nul !== -1) {
    return `The text contains U+0000 (NUL) at character ${[...text.slice(0, nul)].length + 1}, which cannot be stored.`;
  }
  return undefined;
}

/**
 * Ids, tags and names go into every database and results file as given (and into the statistics' filters), so they
 * must be storable text of a bounded size.
 */
export function checkLabel(value: string, what: string, maxLength: number, { emptyAllowed = false } = {}): void {
  if (!emptyAllowed && value.length === 0) throw new BadInputError({ message: `${what} is empty.` });
  if (value.length > maxLength) {
    throw new BadInputError({ message: `${what} is longer than ${maxLength} characters.` });
  }
  if (!value.isWellFormed() || value.includes('\u0000')) {
    throw new BadInputError({ message: `${what} contains U+0000 or a lone surrogate, which cannot be stored.` });
  }
}
