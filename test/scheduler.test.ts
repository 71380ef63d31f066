// Scheduler edge cases with plain async jobs; the engine suite covers the same rules on the real model.
import { describe, expect, it } from 'vitest';
import { AbortedError, EngineBusyError, ModelUnavailableError, TimeoutError } from '../src/engine/errors.js';
import { Scheduler, type JobContext } from '../src/engine/Scheduler.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
/** A step of a prompt (not a generated token): what most of these jobs take. */
const STEP = { tokens: 1, generating: false } as const;
const GENERATED = { tokens: 1, generating: true } as const;

/** A job that takes `steps` mutex steps and logs each one, so interleaving is visible. */
function steppingJob(name: string, steps: number, log: string[]) {
  return async (job: JobContext) => {
    for (let index = 0; index < steps; index += 1) {
      await job.step(async () => {
        log.push(`${name}${index}`);
        await tick();
      }, STEP);
    }
    return name;
  };
}

function createScheduler(overrides: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) {
  return new Scheduler({ maxQueue: 4, jobTimeoutMs: 5_000, laneCapacity: { a: 1, b: 1, wide: 3 }, ...overrides });
}

describe('Scheduler', () => {
  it('interleaves steps of jobs in different lanes, so a short job finishes during a long one', async () => {
    const scheduler = createScheduler();
    const log: string[] = [];
    const long = scheduler.submit({ kind: 'chat', lane: 'a' }, steppingJob('L', 10, log));
    await tick();
    const short = scheduler.submit({ kind: 'sentiment', lane: 'b' }, steppingJob('S', 1, log));
    await short;
    // The short job ran after at most a couple of the long job's steps, not after all ten.
    expect(log.indexOf('S0')).toBeLessThan(4);
    await long;
    expect(log.filter((entry) => entry.startsWith('L'))).toHaveLength(10);
  });

  it('starts jobs of one lane in submission order', async () => {
    const scheduler = createScheduler();
    const order: string[] = [];
    const jobs = ['x', 'y', 'z'].map((name) =>
      scheduler.submit({ kind: 'chat', lane: 'a' }, async (job) => {
        order.push(name);
        await job.step(tick, STEP);
      }),
    );
    await Promise.all(jobs);
    expect(order).toEqual(['x', 'y', 'z']);
  });

  it('refuses a job at once when the queue is full, and never hangs', async () => {
    const scheduler = createScheduler({ maxQueue: 1 });
    let finish!: () => void;
    const blocker = scheduler.submit({ kind: 'chat', lane: 'a' }, () => new Promise<void>((resolve) => (finish = resolve)));
    const queued = scheduler.submit({ kind: 'chat', lane: 'a' }, async () => 'queued');
    await expect(scheduler.submit({ kind: 'chat', lane: 'a' }, async () => 'refused')).rejects.toBeInstanceOf(
      EngineBusyError,
    );
    expect(scheduler.snapshot()).toEqual({ queueDepth: 1, running: ['chat'] });
    finish();
    await blocker;
    await expect(queued).resolves.toBe('queued');
  });

  it('removes an aborted job from the queue without running it', async () => {
    const scheduler = createScheduler();
    let finish!: () => void;
    const blocker = scheduler.submit({ kind: 'chat', lane: 'a' }, () => new Promise<void>((resolve) => (finish = resolve)));
    const controller = new AbortController();
    let ran = false;
    const queued = scheduler.submit({ kind: 'chat', lane: 'a', signal: controller.signal }, async () => {
      ran = true;
    });
    controller.abort();
    await expect(queued).rejects.toBeInstanceOf(AbortedError);
    expect(scheduler.snapshot().queueDepth).toBe(0);
    finish();
    await blocker;
    expect(ran).toBe(false);
  });

  it('times a job out while it waits, counting queue time', async () => {
    const scheduler = createScheduler({ jobTimeoutMs: 50 });
    let finish!: () => void;
    const blocker = scheduler.submit({ kind: 'chat', lane: 'a' }, () => new Promise<void>((resolve) => (finish = resolve)));
    await expect(scheduler.submit({ kind: 'chat', lane: 'a' }, async () => 'late')).rejects.toBeInstanceOf(TimeoutError);
    finish();
    await expect(blocker).resolves.toBeUndefined();
  });

  it('stops a running job at its next step when it times out', async () => {
    const scheduler = createScheduler({ jobTimeoutMs: 30 });
    let steps = 0;
    const endless = scheduler.submit({ kind: 'chat', lane: 'a' }, async (job) => {
      for (;;) {
        await job.step(async () => {
          steps += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }, STEP);
      }
    });
    await expect(endless).rejects.toBeInstanceOf(TimeoutError);
    const stepsAtTimeout = steps;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(steps).toBe(stepsAtTimeout);
  });

  it('on close fails queued jobs, stops running ones and refuses new ones', async () => {
    const scheduler = createScheduler();
    const running = scheduler.submit({ kind: 'chat', lane: 'a' }, async (job) => {
      for (;;) await job.step(tick, STEP);
    });
    const queued = scheduler.submit({ kind: 'chat', lane: 'a' }, async () => 'never');
    const outcomes = Promise.all([
      expect(running).rejects.toBeInstanceOf(ModelUnavailableError),
      expect(queued).rejects.toBeInstanceOf(ModelUnavailableError),
    ]);
    await tick();
    await scheduler.close();
    await outcomes;
    await expect(scheduler.submit({ kind: 'chat', lane: 'b' }, async () => 1)).rejects.toBeInstanceOf(ModelUnavailableError);
  });

  it('runs as many jobs of a wide lane at once as its capacity, their steps together in one cycle at a time', async () => {
    const cycles: number[] = [];
    const scheduler = createScheduler({ onCycle: ({ steps }) => cycles.push(steps) });
    let inside = 0;
    let maxInside = 0;
    let maxRunning = 0;
    let overlapped = false;
    let cycleOpen = false;
    const job = async (context: JobContext) => {
      for (let index = 0; index < 3; index += 1) {
        await context.step(async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          maxRunning = Math.max(maxRunning, scheduler.snapshot().running.length);
          if (inside === 1) {
            // The first step of a cycle to start: no step of an earlier cycle may still be running.
            if (cycleOpen) overlapped = true;
            cycleOpen = true;
          }
          await tick();
          inside -= 1;
          if (inside === 0) cycleOpen = false;
        }, GENERATED);
      }
    };
    await Promise.all(Array.from({ length: 5 }, () => scheduler.submit({ kind: 'chat', lane: 'wide' }, job)));
    expect(maxRunning).toBe(3);
    // The three running jobs' tokens shared each cycle's decode; cycles never overlapped.
    expect(maxInside).toBe(3);
    expect(overlapped).toBe(false);
    expect(cycles.reduce((sum, steps) => sum + steps, 0)).toBe(15);
    expect(Math.max(...cycles)).toBe(3);
  });

  it('puts every generated token in each cycle, but only one prompt chunk beside them', async () => {
    const cycles: { steps: number; generating: number; tokens: number }[] = [];
    const scheduler = createScheduler({
      laneCapacity: { chat: 4, prompt: 3 },
      batching: { promptTokensBesideReplies: 80, promptTokensAlone: 512 },
      onCycle: (report) => cycles.push(report),
    });
    const reply = (tokens: number) => async (job: JobContext) => {
      for (let index = 0; index < tokens; index += 1) await job.step(tick, GENERATED);
    };
    const prompt = (chunks: number) => async (job: JobContext) => {
      for (let index = 0; index < chunks; index += 1) await job.step(tick, { tokens: 64, generating: false });
    };
    const replies = [1, 2].map(() => scheduler.submit({ kind: 'chat', lane: 'chat' }, reply(3)));
    const prompts = [1, 2, 3].map(() => scheduler.submit({ kind: 'sentiment', lane: 'prompt' }, prompt(4)));
    await Promise.all([...replies, ...prompts]);
    const whileGenerating = cycles.filter((cycle) => cycle.generating > 0);
    expect(whileGenerating.length).toBeGreaterThan(0);
    for (const cycle of whileGenerating) expect(cycle.steps - cycle.generating).toBeLessThanOrEqual(1);
    // Once the replies were done, the prompt chunks of different jobs shared a decode.
    expect(cycles.some((cycle) => cycle.generating === 0 && cycle.steps > 1)).toBe(true);
  });

  it("serves keys in turn: a key with a backlog does not push another key's job behind all of it", async () => {
    const scheduler = createScheduler({ maxQueue: 16 });
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const job = (name: string) => async (context: JobContext) => {
      order.push(name);
      await context.step(() => gate, STEP);
    };
    const flood = Array.from({ length: 6 }, (_, index) =>
      scheduler.submit({ kind: 'chat', lane: 'a', key: 'A' }, job(`A${index}`)),
    );
    const single = scheduler.submit({ kind: 'sentiment', lane: 'a', key: 'B' }, job('B0'));
    release();
    await Promise.all([...flood, single]);
    expect(order.indexOf('B0')).toBe(1);
    expect(order.filter((name) => name.startsWith('A'))).toEqual(['A0', 'A1', 'A2', 'A3', 'A4', 'A5']);
  });

  it('refuses the noisy key first, with a retry hint, and still admits another key', async () => {
    const scheduler = createScheduler({ maxQueue: 8, maxQueuePerKey: 2 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = async (context: JobContext) => context.step(() => gate, STEP);
    const admitted = [0, 1, 2].map(() => scheduler.submit({ kind: 'chat', lane: 'a', key: 'A' }, held));
    const refused = scheduler.submit({ kind: 'chat', lane: 'a', key: 'A' }, held);
    await expect(refused).rejects.toBeInstanceOf(EngineBusyError);
    await expect(refused).rejects.toMatchObject({ retryAfterMs: expect.any(Number) });
    expect(((await refused.catch((error: unknown) => error)) as EngineBusyError).retryAfterMs).toBeGreaterThanOrEqual(100);
    const other = scheduler.submit({ kind: 'chat', lane: 'a', key: 'B' }, held);
    release();
    await Promise.all([...admitted, other]);
  });
});

describe('Scheduler with mutexScope "job"', () => {
  it('runs a whole job before another job takes a step: the naive design the fairness benchmark contrasts', async () => {
    const scheduler = createScheduler({ mutexScope: 'job' });
    const log: string[] = [];
    const long = scheduler.submit({ kind: 'chat', lane: 'a' }, steppingJob('L', 10, log));
    await tick();
    const short = scheduler.submit({ kind: 'sentiment', lane: 'b' }, steppingJob('S', 1, log));
    await Promise.all([long, short]);
    // The short job waited for all ten steps of the long one instead of slipping in between them.
    expect(log).toEqual([...Array.from({ length: 10 }, (_, index) => `L${index}`), 'S0']);
  });

  it('still stops a running job at its next step when it is aborted', async () => {
    const scheduler = createScheduler({ mutexScope: 'job' });
    const controller = new AbortController();
    let steps = 0;
    const endless = scheduler.submit({ kind: 'chat', lane: 'a', signal: controller.signal }, async (job) => {
      for (;;) {
        await job.step(async () => {
          steps += 1;
          await tick();
        }, STEP);
      }
    });
    await tick();
    controller.abort();
    await expect(endless).rejects.toBeInstanceOf(AbortedError);
    // The mutex was released: the next job runs.
    await expect(
      scheduler.submit({ kind: 'chat', lane: 'b' }, async (job) => job.step(async () => 'next', STEP)),
    ).resolves.toBe('next');
    expect(steps).toBeGreaterThan(0);
  });
});
