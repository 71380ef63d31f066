// Fair turns of prompt work between keys, on a clock the test moves: least recent engine time first, decaying.
import { describe, expect, it } from 'vitest';
import { PromptTurns, USAGE_HALF_LIFE_MS } from '../src/engine/PromptTurns.js';

function turnsAt(start = 0) {
  const clock = { now: start };
  return { clock, turns: new PromptTurns(() => clock.now) };
}

describe('PromptTurns', () => {
  it('puts the key with the least recent engine time first, ties in the order the keys came', () => {
    const { turns } = turnsAt();
    turns.charge('A', 300);
    turns.charge('B', 100);
    expect(turns.inOrder(['A', 'B', 'C'])).toEqual(['C', 'B', 'A']);
    expect(turns.inOrder(['D', 'C'])).toEqual(['D', 'C']);
  });

  it('lets past work count half after one half-life, so a flood stays behind a key that asks now and then', () => {
    const { clock, turns } = turnsAt();
    turns.charge('A', 400);
    clock.now += USAGE_HALF_LIFE_MS;
    turns.charge('B', 150);
    // A: 200 after the half-life; B: 150 just now.
    expect(turns.inOrder(['A', 'B'])).toEqual(['B', 'A']);
    clock.now += USAGE_HALF_LIFE_MS;
    turns.charge('B', 40);
    // A: 100; B: 75 + 40 = 115.
    expect(turns.inOrder(['A', 'B'])).toEqual(['A', 'B']);
  });

  it('never pushes a waiting key back behind a stream of short-lived keys', () => {
    const { clock, turns } = turnsAt();
    // B worked a moment ago, then waits; one new key after another (one per anonymous operation) takes a turn.
    turns.charge('B', 60);
    const waitingSince = clock.now;
    let servedBeforeB = 0;
    for (let index = 0; index < 50; index += 1) {
      clock.now += 25;
      const [first] = turns.inOrder(['B', `op-${index}`]);
      if (first === 'B') break;
      turns.charge(first, 25);
      servedBeforeB += 1;
    }
    // Each newcomer starts at zero, but B's time waiting counts: B goes once it has waited about as long as its work
    // took (60 ms: its fourth look, after three newcomers of 25 ms), not after the whole stream.
    expect(servedBeforeB).toBe(3);
    expect(clock.now - waitingSince).toBe(100);
  });

  it('counts a key as waiting only since it was last served, however long it has kept work queued', () => {
    const { clock, turns } = turnsAt();
    // A keeps a step waiting at every choice and is served each time, for two seconds.
    for (let index = 0; index < 40; index += 1) {
      turns.inOrder(['A']);
      clock.now += 50;
      turns.charge('A', 50);
    }
    // B used the engine a little, a moment ago; A's two seconds of queued work earn it no waiting credit.
    turns.charge('B', 60);
    clock.now += 10;
    expect(turns.inOrder(['A', 'B'])).toEqual(['B', 'A']);
  });

  it('says whether another key was charged since a moment', () => {
    const { clock, turns } = turnsAt();
    turns.charge('A', 10);
    expect(turns.othersSince('A', 0)).toBe(false);
    expect(turns.othersSince('B', 0)).toBe(true);
    clock.now += 1;
    expect(turns.othersSince('B', 1)).toBe(false);
  });
});
