// Background work (analysis jobs' items) on the real node-llama-cpp with the tiny model: same results, interactive first, its own limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  BackgroundDisabledError,
  EngineBusyError,
  type CycleReport,
  type Engine,
  type EngineOptions,
} from '../src/engine/index.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { IN_USE_WINDOW_MS } from '../src/engine/Scheduler.js';
import { loadTestEngine } from './support/testApp.js';

const leftovers: Engine[] = [];

/** An engine whose cycles land in `cycles`, and `onCycle` (when set) hears each one as it ends. */
async function openEngine(overrides: Partial<EngineOptions> = {}) {
  const watch = { cycles: [] as CycleReport[], onCycle: undefined as ((report: CycleReport) => void) | undefined };
  const engine = await loadTestEngine({
    contextSize: 1024,
    ...overrides,
    onCycle: (report) => {
      watch.cycles.push(report);
      watch.onCycle?.(report);
    },
  });
  leftovers.push(engine);
  return { engine, watch };
}

afterAll(async () => {
  await Promise.all(leftovers.map((engine) => engine.dispose()));
});

const TASKS = ['sentiment', 'intent'];
const TEXTS = [
  'The delivery was late and the box was crushed, I want my money back.',
  'Could you tell me when the shop opens on Sundays?',
  '这家餐厅的菜很好吃，服务也很周到。',
  'Thanks a lot, the new version works perfectly and I love the colours.',
];
/** Several prompt chunks of background work, so a job keeps the engine busy for many decodes. */
const LONG_TEXT = Array.from({ length: 12 }, (_, index) => `Sentence ${index} of a long review about a kettle that boils slowly.`).join(' ');

/** Resolves at the first cycle carrying background steps, after calling `then` from inside that report. */
function firstBackgroundCycle(watch: { onCycle: ((report: CycleReport) => void) | undefined }, then: () => void = () => {}) {
  return new Promise<void>((resolve) => {
    watch.onCycle = (report) => {
      if (report.background === 0) return;
      watch.onCycle = undefined;
      then();
      resolve();
    };
  });
}

describe('background runTasks', () => {
  let engine: Engine;
  let watch: Awaited<ReturnType<typeof openEngine>>['watch'];
  beforeAll(async () => {
    ({ engine, watch } = await openEngine());
  });

  it('gives the same labels and scores as the same tasks run in the foreground', async () => {
    for (const text of TEXTS) {
      const foreground = await engine.runTasks(text, TASKS);
      const background = await engine.runTasks(text, TASKS, { background: true, key: 'analyst' });
      expect(background.locale).toBe(foreground.locale);
      expect(background.results.map(({ task, kind }) => ({ task, kind }))).toEqual(
        foreground.results.map(({ task, kind }) => ({ task, kind })),
      );
      background.results.forEach((result, index) => {
        const expected = foreground.results[index]!;
        if (result.kind !== 'classify' || expected.kind !== 'classify') throw new Error('both tasks classify');
        expect(result.label).toBe(expected.label);
        for (const [label, score] of Object.entries(expected.scores)) expect(result.scores[label]).toBeCloseTo(score, 3);
      });
    }
  });

  it("runs an interactive job's steps before any further background step, and the background work then goes on", async () => {
    let interactive: Promise<unknown> | undefined;
    let submittedAt = 0;
    const started = firstBackgroundCycle(watch, () => {
      // Submitted between two decodes, while background jobs have their next steps waiting.
      submittedAt = watch.cycles.length;
      interactive = engine.runTasks(TEXTS[0]!, ['sentiment']);
    });
    const jobs = [LONG_TEXT, LONG_TEXT.toUpperCase()].map((text) => engine.runTasks(text, TASKS, { background: true }));
    await started;
    await interactive;
    const whileInteractive = watch.cycles.slice(submittedAt);
    expect(whileInteractive.length).toBeGreaterThan(0);
    for (const cycle of whileInteractive) expect(cycle.background).toBe(0);
    const finished = watch.cycles.length;
    await Promise.all(jobs);
    expect(watch.cycles.slice(finished).some((cycle) => cycle.background > 0)).toBe(true);
  });

  it("never adds background steps to a decode carrying a reply's tokens", async () => {
    const from = watch.cycles.length;
    let reply: ReturnType<Engine['chat']> | undefined;
    const started = firstBackgroundCycle(watch, () => {
      reply = engine.chat({ history: [], message: 'Tell me about the sea.', temperature: 0, maxTokens: 24 });
    });
    const jobs = [LONG_TEXT, LONG_TEXT.toUpperCase()].map((text) => engine.runTasks(text, TASKS, { background: true }));
    await started;
    for await (const _ of reply!);
    await Promise.all(jobs);
    const cycles = watch.cycles.slice(from);
    expect(cycles.some((cycle) => cycle.generating > 0)).toBe(true);
    for (const cycle of cycles) if (cycle.generating > 0) expect(cycle.background).toBe(0);
  });

  it('puts several background sequences in one decode when the engine is quiet', async () => {
    // Past the in-use window since the last interactive job: a state, not a race (the clock only moves on).
    await new Promise((resolve) => setTimeout(resolve, IN_USE_WINDOW_MS + 100));
    const from = watch.cycles.length;
    await Promise.all([LONG_TEXT, LONG_TEXT.toLowerCase()].map((text, index) => engine.runTasks(text, TASKS, { background: true, key: `k${index}` })));
    const cycles = watch.cycles.slice(from);
    expect(cycles.some((cycle) => cycle.background > 1)).toBe(true);
    expect(engine.status().runningJobs).toEqual([]);
  });

  it('reports its jobs as kind job while they run', async () => {
    let running: string[] = [];
    const started = firstBackgroundCycle(watch, () => (running = engine.status().runningJobs));
    const job = engine.runTasks(LONG_TEXT, ['sentiment'], { background: true });
    await started;
    await job;
    expect(running).toEqual(['job']);
  });

  it('stops a background job when its signal aborts, and keeps serving', async () => {
    const controller = new AbortController();
    const started = firstBackgroundCycle(watch, () => controller.abort());
    const job = engine.runTasks(LONG_TEXT, TASKS, { background: true, signal: controller.signal });
    await started;
    await expect(job).rejects.toBeInstanceOf(AbortedError);
    expect(engine.status().runningJobs).toEqual([]);
    await expect(engine.runTasks(TEXTS[1]!, TASKS, { background: true })).resolves.toHaveProperty('results');
  });
});

describe('background work on an engine that is never idle', () => {
  /**
   * Two loops of chats, each starting its next reply when one ends, so an interactive job always runs (the other
   * loop's reply covers the moment between two of them) until `done()` says stop; at most `most` replies each.
   */
  function keepChatting(engine: Engine, done: () => boolean, most = 40) {
    let active = 0;
    const loop = async (name: string): Promise<number> => {
      let replies = 0;
      for (; replies < most && !done(); replies += 1) {
        active += 1;
        try {
          const stream = engine.chat({ history: [], message: `Tell me about the sea, ${name}.`, temperature: 0, maxTokens: 48 });
          for await (const _ of stream);
        } finally {
          active -= 1;
        }
      }
      return replies;
    };
    return { loops: Promise.all([loop('A'), loop('B')]), active: () => active };
  }

  it('advances background work while replies keep it busy: owed decodes of its own, never beside a reply', async () => {
    const { engine, watch } = await openEngine({ backgroundSharePercent: 50 });
    let done = false;
    const chats = keepChatting(engine, () => done);
    let activeAtEnd = 0;
    const from = watch.cycles.length;
    await engine.runTasks(LONG_TEXT, ['sentiment'], { background: true }).finally(() => {
      activeAtEnd = chats.active();
      done = true;
    });
    await chats.loops;
    // Without a share it would only have run once both loops had ended.
    expect(activeAtEnd).toBeGreaterThan(0);
    const cycles = watch.cycles.slice(from);
    expect(cycles.some((cycle) => cycle.owed)).toBe(true);
    for (const cycle of cycles) if (cycle.background > 0) expect(cycle.generating).toBe(0);
  });

  it('runs background work only on spare capacity with a share of 0', async () => {
    const { engine, watch } = await openEngine({ backgroundSharePercent: 0 });
    let done = false;
    const chats = keepChatting(engine, () => done, 6);
    const from = watch.cycles.length;
    let activeAtEnd = -1;
    const job = engine.runTasks(LONG_TEXT, ['sentiment'], { background: true }).finally(() => (activeAtEnd = chats.active()));
    await chats.loops;
    done = true;
    await job;
    expect(activeAtEnd).toBe(0);
    expect(watch.cycles.slice(from).some((cycle) => cycle.owed)).toBe(false);
  });
});

describe('JOB_MIN_SHARE', () => {
  it('sets the engine\'s background share in percent, 5 by default, and refuses a value outside 0 to 50 by name', () => {
    expect(loadConfig({}).engine.backgroundSharePercent).toBe(5);
    expect(loadConfig({ JOB_MIN_SHARE: '0' }).engine.backgroundSharePercent).toBe(0);
    expect(() => loadConfig({ JOB_MIN_SHARE: '60' })).toThrow(ConfigError);
    expect(() => loadConfig({ JOB_MIN_SHARE: '60' })).toThrow(/JOB_MIN_SHARE/);
  });
});

describe('background work and the interactive queue limits', () => {
  it('admits background jobs when the interactive queue is full, and they never make an interactive job refused', async () => {
    const { engine } = await openEngine({ taskSequences: 1, backgroundSequences: 1, maxQueue: 0, maxQueuePerKey: 0 });
    // Holds the only task sequence; with no room to wait, the next interactive job is refused.
    const running = engine.runTasks(LONG_TEXT, TASKS, { key: 'K' });
    await expect(engine.runTasks(TEXTS[0]!, TASKS, { key: 'K' })).rejects.toBeInstanceOf(EngineBusyError);
    // One background job runs and three wait in their own queue: none is refused.
    const jobs = TEXTS.map((text) => engine.runTasks(text, TASKS, { background: true, key: 'K' }));
    await running;
    // Background jobs waiting take no place in the interactive queue: the next interactive job is admitted.
    expect(engine.status().queueDepth).toBe(0);
    await expect(engine.runTasks(TEXTS[0]!, TASKS, { key: 'K' })).resolves.toHaveProperty('results');
    await expect(Promise.all(jobs)).resolves.toHaveLength(TEXTS.length);
  });

  it('refuses background work with BackgroundDisabledError when it has no sequences', async () => {
    const { engine } = await openEngine({ backgroundSequences: 0 });
    await expect(engine.runTasks(TEXTS[0]!, TASKS, { background: true })).rejects.toBeInstanceOf(BackgroundDisabledError);
    await expect(engine.runTasks(TEXTS[0]!, TASKS)).resolves.toHaveProperty('results');
  });
});
