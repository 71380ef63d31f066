// API keys: who may call the API, and the fingerprint that stands for a key as the owner of what it creates.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Shorter secrets are guessable; `openssl rand -hex 32` makes a good one. */
export const MIN_API_KEY_CHARS = 16;

/** 96 bits of SHA-256: no two keys of one deployment collide, and the key cannot be recovered from it. */
const FINGERPRINT_HEX_CHARS = 24;
const BEARER_PATTERN = /^Bearer +(\S+) *$/i;

export interface ApiKeyring {
  /** False when no keys are configured: everyone is let in, as owner null. */
  readonly enabled: boolean;
  /**
   * The owner an `Authorization` value acts for: its key's fingerprint, `null` while auth is off, or
   * `undefined` when it carries no configured key.
   */
  ownerOf(authorization: unknown): string | null | undefined;
}

/** What is stored as the owner of a key's records: never the key itself. */
export function fingerprintOf(key: string): string {
  return digestOf(key).toString('hex').slice(0, FINGERPRINT_HEX_CHARS);
}

export function createApiKeyring(keys: readonly string[]): ApiKeyring {
  const known = [...new Set(keys)].map((key) => ({ digest: digestOf(key), owner: fingerprintOf(key) }));
  return {
    enabled: known.length > 0,
    ownerOf(authorization) {
      if (known.length === 0) return null;
      const presented = typeof authorization === 'string' ? BEARER_PATTERN.exec(authorization)?.[1] : undefined;
      if (presented === undefined) return undefined;
      // Equal-length digests compared in constant time, and every key tried: the time taken does not tell
      // how much of a key was right, nor which key matched.
      const digest = digestOf(presented);
      let owner: string | undefined;
      for (const key of known) {
        if (timingSafeEqual(digest, key.digest)) owner = key.owner;
      }
      return owner;
    },
  };
}

function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
