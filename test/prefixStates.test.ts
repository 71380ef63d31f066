// The folder of saved instruction states: a process that died without disposing (kill -9) leaves its folder, and the
// next start removes it — while the folders of live processes, and of other hosts, stay. Real folders, real processes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrefixStates } from '../src/engine/PrefixStates.js';
import { STATE_CACHE_MAX_AGE_MS } from '../src/engine/stateCache.js';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-prefix-states-');
const leftovers: PrefixStates[] = [];

afterAll(async () => {
  for (const states of leftovers) await states.dispose();
  scratch.remove();
});

/** A folder named as a process `pid` on host `tag` would name it, holding a state file. */
function fakeFolder(tag: string, pid: number, suffix: string): string {
  const dir = path.join(scratch.dir, `all-in-one-prefixes-${tag}-${pid}-${suffix}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'prefix-1.state'), 'state');
  return dir;
}

describe('PrefixStates folders', () => {
  it("removes a dead process's folder at creation, keeps live processes' and other hosts', and removes its own on dispose", async () => {
    const first = await PrefixStates.create({ parent: scratch.dir });
    leftovers.push(first);
    const [own] = readdirSync(scratch.dir);
    const match = /^all-in-one-prefixes-([0-9a-f]{8})-(\d+)-/.exec(own!);
    expect(match?.[2]).toBe(String(process.pid));
    const host = match![1]!;

    // A process that has exited: its pid is known not to be running.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = fakeFolder(host, dead, 'stale1');
    const live = fakeFolder(host, process.ppid, 'live01');
    const otherHost = fakeFolder(host === '00000000' ? '11111111' : '00000000', dead, 'other1');

    const second = await PrefixStates.create({ parent: scratch.dir });
    leftovers.push(second);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(otherHost)).toBe(true);
    expect(existsSync(path.join(scratch.dir, own!))).toBe(true);

    await first.dispose();
    await second.dispose();
    expect(readdirSync(scratch.dir).sort()).toEqual([path.basename(live), path.basename(otherHost)].sort());
  });
});

describe('the cache folder (TASK_STATES_DIR)', () => {
  it('keeps states in use and is tidied at open: unused for a month, half written by a process that is gone', async () => {
    const root = path.join(scratch.dir, 'cache');
    const file = (key: string, name: string, ageMs = 0) => {
      mkdirSync(path.join(root, key), { recursive: true });
      const at = path.join(root, key, name);
      writeFileSync(at, 'state');
      const when = new Date(Date.now() - ageMs);
      utimesSync(at, when, when);
      return at;
    };
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const recent = file('model-a', 'aaaa.state', STATE_CACHE_MAX_AGE_MS / 2);
    const old = file('model-a', 'bbbb.state', STATE_CACHE_MAX_AGE_MS + 3_600_000);
    const oldModel = file('model-b', 'cccc.state', STATE_CACHE_MAX_AGE_MS + 3_600_000);
    const abandoned = file('model-a', `dddd.state.${dead}.1.partial`);
    const beingWritten = file('model-a', `eeee.state.${process.ppid}.1.partial`);

    const states = await PrefixStates.create({ cache: { root, key: 'model-a' } });
    await states.dispose();
    expect([recent, old, oldModel, abandoned, beingWritten].map((at) => existsSync(at))).toEqual([true, false, false, false, true]);
    // The folder of a model nothing uses any more goes with its last file; the cache stays after dispose.
    expect(readdirSync(root)).toEqual(['model-a']);
  });
});
