// Stamps which revision of this generator wrote a file, so caches written by older revisions get replaced.
import { readGgufFileInfo } from 'node-llama-cpp';

/** Bump whenever the bytes written for a given shape and seed change. */
export const SYNTHETIC_FORMAT_VERSION = 2;

/** Custom metadata key; llama.cpp ignores keys it does not know. */
export const SYNTHETIC_FORMAT_KEY = 'all_in_one.synthetic_format_version';

/** Arrays with hundreds of thousands of entries that the version check has no use for. */
const SKIPPED_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'];

/** Whether `path` is a synthetic model written by this revision; false if missing or unreadable. */
export async function isCurrentSyntheticModel(path: string): Promise<boolean> {
  try {
    const { metadata } = await readGgufFileInfo(path, {
      readTensorInfo: false,
      ignoreKeys: SKIPPED_KEYS,
      logWarnings: false,
      sourceType: 'filesystem',
    });
    return hasCurrentSyntheticStamp(metadata);
  } catch {
    return false;
  }
}

/** The same check on a header already read (node-llama-cpp's, of a loaded model). */
export function hasCurrentSyntheticStamp(metadata: object): boolean {
  const [namespace, key] = SYNTHETIC_FORMAT_KEY.split('.') as [string, string];
  const stamped = (metadata as Record<string, Record<string, unknown> | undefined>)[namespace]?.[key];
  return stamped === SYNTHETIC_FORMAT_VERSION;
}
