// Which sequence a job is lent: its own warm one first, else one beside the busy ones (a decode then passes over the
// weights once for all of them), the least recently used of those.
import type { LlamaContextSequence } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { SequencePool } from '../src/engine/SequencePool.js';

/** Stand-ins for context sequences: the pool only hands them out, so each is known by its position. */
function poolOf(size: number) {
  const sequences = Array.from({ length: size }, (_, index) => ({ index }) as unknown as LlamaContextSequence);
  const pool = new SequencePool(sequences, (sequence) => sequences.indexOf(sequence));
  const indexOf = (lease: { sequence: LlamaContextSequence }) => sequences.indexOf(lease.sequence);
  return { pool, indexOf };
}

describe('SequencePool', () => {
  it('lends the least recently used sequence while none is busy, and a conversation its own warm sequence', async () => {
    const { pool, indexOf } = poolOf(4);
    const leases = await Promise.all(['a', 'b', 'c', 'd'].map((key) => pool.acquire(key)));
    expect(leases.map(indexOf)).toEqual([0, 1, 2, 3]);
    for (const lease of [leases[2]!, leases[0]!, leases[3]!, leases[1]!]) lease.release();
    // All free: the least recently lent is 0 ("a").
    const next = await pool.acquire('e');
    expect(indexOf(next)).toBe(0);
    next.release();
    const warm = await pool.acquire('c');
    expect([indexOf(warm), warm.warm]).toEqual([2, true]);
  });

  it('lends a newcomer a free sequence beside the busy ones, before an older one standing apart', async () => {
    const { pool, indexOf } = poolOf(6);
    const leases = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((key) => pool.acquire(key)));
    for (const index of [0, 1, 2, 4, 5]) leases[index]!.release();
    // Only 3 is busy; 0 is the least recently used, but 2 and 4 stand beside 3: the older of them, 2.
    const newcomer = await pool.acquire('g');
    expect([indexOf(newcomer), newcomer.warm]).toEqual([2, false]);
    // 2 and 3 busy: 1 and 4 each have one busy neighbour; 1 is the older.
    expect(indexOf(await pool.acquire('h'))).toBe(1);
  });

  it('fills a gap between busy sequences first', async () => {
    const { pool, indexOf } = poolOf(5);
    const leases = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => pool.acquire(key)));
    for (const index of [0, 2, 4]) leases[index]!.release();
    // 1 and 3 busy: 2 lies between them, 0 and 4 beside one each.
    expect(indexOf(await pool.acquire('f'))).toBe(2);
  });

  it('still lends a warm sequence standing apart to its conversation', async () => {
    const { pool, indexOf } = poolOf(5);
    const leases = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => pool.acquire(key)));
    for (const index of [0, 1, 3, 4]) leases[index]!.release();
    const warm = await pool.acquire('a');
    expect([indexOf(warm), warm.warm]).toEqual([0, true]);
  });

  it('lends a free sequence for one decode: never a busy one, and a job asking meanwhile chooses once it is back', async () => {
    const { pool, indexOf } = poolOf(4);
    const leases = await Promise.all(['a', 'b', 'c', 'd'].map((key) => pool.acquire(key)));
    leases[1]!.release();
    expect(pool.lendIdle(0)).toBeUndefined(); // busy
    expect(pool.lendIdle(7)).toBeUndefined(); // not this pool's
    const lent = pool.lendIdle(1);
    expect(lent).toBeDefined();
    expect(pool.lendIdle(1)).toBeUndefined(); // lent already
    let chosen: number | undefined;
    const waiting = pool.acquire('e').then((lease) => (chosen = indexOf(lease)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(chosen).toBeUndefined();
    pool.giveBack();
    await waiting;
    // The lent sequence was free again, between busy 0 and 2: the newcomer's, and it held nothing of "e" before.
    expect(chosen).toBe(1);
    leases[3]!.release();
    // Lending keeps what a sequence is said to hold: "d" finds its own after 3 was lent and given back.
    expect(pool.lendIdle(3)).toBeDefined();
    pool.giveBack();
    const warm = await pool.acquire('d');
    expect([indexOf(warm), warm.warm]).toEqual([3, true]);
  });
});
