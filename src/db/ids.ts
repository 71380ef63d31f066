// Row ids: ULIDs, unguessable and sortable by the time they were made.
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const RANDOM_POOL_BYTES = 4096;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
let poolOffset = RANDOM_POOL_BYTES;

// ulid's default PRNG makes one crypto call per character (~70 µs per id, which dominates bulk inserts);
// drawing from a refilled buffer of the same CSPRNG keeps ids unguessable at a fraction of the cost.
function pooledRandom(): number {
  if (poolOffset === RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  const byte = randomPool[poolOffset] ?? 0;
  poolOffset += 1;
  return byte / 256;
}

// Monotonic so that ids made within one millisecond still sort in the order they were made.
const nextUlid = monotonicFactory(pooledRandom);

/** A new ULID whose time part is `at` (epoch ms), or the last id's time if `at` lies before it. */
export function newId(at: number = Date.now()): string {
  return nextUlid(at);
}

/** The id of a conversation created with its first turn (UserTurnInput.newConversation). */
export function newConversationId(): string {
  return newId();
}
