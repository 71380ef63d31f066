// The name `analyze-file` gives its job: the same file with the same options always gets the same name, so a re-run finds it.
import { createHash } from 'node:crypto';
import type { ColumnChoice } from './fileItems.js';
import type { InputFormat } from './fileRows.js';

/** Room for a readable label in the name; the digest that makes it unique follows it. */
const MAX_LABEL_CHARS = 80;
/** 64 bits of the digest: two different runs colliding is not a practical concern for one key's jobs. */
const DIGEST_HEX_CHARS = 16;

export interface JobNameParts {
  /** What people see first: `--name`, or the file's base name. */
  label: string;
  /** SHA-256 of the file's bytes. */
  sha256: string;
  format: InputFormat;
  choice: ColumnChoice;
  tasks: readonly string[];
}

/** `reviews.csv [3f1c…]`: the label, then a digest of the file's content and every option that changes the items or results. */
export function jobNameOf({ label, sha256, format, choice, tasks }: JobNameParts): string {
  const options = JSON.stringify({ sha256, format, text: choice.text, id: choice.id ?? null, tags: choice.tags, tasks });
  const digest = createHash('sha256').update(options).digest('hex').slice(0, DIGEST_HEX_CHARS);
  return `${[...label].slice(0, MAX_LABEL_CHARS).join('')} [${digest}]`;
}
