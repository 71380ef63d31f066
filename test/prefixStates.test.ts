// The folder of saved instruction states: a process that died without disposing (kill -9) leaves its folder, and the
// next start removes it — while the folders of live processes, and of other hosts, stay. Real folders, real processes.
// And one new prefix met by several jobs at once, on the real node-llama-cpp with the tiny model.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PrefixStates } from '../src/engine/PrefixStates.js';
import type { JobContext } from '../src/engine/Scheduler.js';
import { takeSequences } from '../src/engine/sequenceIds.js';
import { STATE_CACHE_MAX_AGE_MS } from '../src/engine/stateCache.js';
import { createScratchDir, TEST_THREADS } from './support/testApp.js';

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

describe('one new prefix met by several jobs at once', () => {
  let model: LlamaModel;
  let context: LlamaContext;

  beforeAll(async () => {
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false });
    model = await llama.loadModel({ modelPath: inject('tinyModelPath') });
    context = await model.createContext({ contextSize: 512, sequences: 6, threads: TEST_THREADS });
  });

  afterAll(async () => {
    await context.dispose();
    await model.dispose();
  });

  /** A job whose steps run at once, and end in its signal's reason once it is aborted (as the scheduler's do). */
  function job(signal: AbortSignal = new AbortController().signal): JobContext {
    return {
      kind: 'chat',
      signal,
      yield: async () => {},
      step: async (work) => {
        signal.throwIfAborted();
        return work();
      },
    };
  }

  const prefix = (text: string) => model.tokenize(`<|im_start|>system\n${text}<|im_end|>\n`, true);

  it('is evaluated by one, whose saved state the others load', async () => {
    const states = await PrefixStates.create({ parent: scratch.dir });
    leftovers.push(states);
    const tokens = prefix('A system prompt that three conversations opened together share.');
    const sequences = takeSequences(context, 3);
    const outcomes = await Promise.all(sequences.map((sequence) => states.restore(job(), sequence, 'shared', tokens)));
    expect(outcomes).toEqual(['evaluated', 'loaded', 'loaded']);
    for (const sequence of sequences) expect(sequence.contextTokens).toEqual(tokens);
    expect(await states.restore(job(), sequences[1]!, 'shared', tokens)).toBe('resident');
  });

  it('is evaluated by the next one when the job evaluating it stops, and a waiting job that stops ends at once', async () => {
    const states = await PrefixStates.create({ parent: scratch.dir });
    leftovers.push(states);
    const tokens = prefix('Another system prompt, which its first job never saves.');
    const [evaluator, next, leaving] = takeSequences(context, 3);
    const stop = new AbortController();
    const evaluating = states.restore(job(stop.signal), evaluator!, 'stopped', tokens);
    const waiting = states.restore(job(), next!, 'stopped', tokens);
    const leave = new AbortController();
    const left = states.restore(job(leave.signal), leaving!, 'stopped', tokens);
    stop.abort(new Error('the evaluating job stopped'));
    leave.abort(new Error('a waiting job stopped'));
    await expect(left).rejects.toThrow('a waiting job stopped');
    await expect(evaluating).rejects.toThrow('the evaluating job stopped');
    expect(await waiting).toBe('evaluated');
    expect(next!.contextTokens).toEqual(tokens);
  });
});
