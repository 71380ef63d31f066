// Scheduler edge cases with plain async jobs; the engine suite covers the same rules on the real model.
import { describe, expect, it, vi } from 'vitest';
import { AbortedError, EngineBusyError, ModelUnavailableError, TimeoutError } from '../src/engine/errors.js';
import { BACKGROUND_TURN_MS, BackgroundShare } from '../src/engine/BackgroundShare.js';
import { Scheduler, type JobContext } from '../src/engine/Scheduler.js';
import {
  BACKGROUND_PROMPT_TOKENS_IN_USE,
  type CycleReport,
  LONG_JOB_PROMPT_TOKENS_MAX,
  LONG_JOB_PROMPT_TOKENS_MIN,
  LIGHT_KEY_MARGIN_MS,
  LONG_JOB_PROMPT_TOKENS_SHARED,
  SHARED_DECODE_TARGET_MS,
  sharedChunkTokens,
} from '../src/engine/StepBatcher.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
/** A step of a prompt (not a generated token): what most of these jobs take. */
const STEP = { tokens: 1, generating: false, sequence: 0 } as const;
const GENERATED = { tokens: 1, generating: true, sequence: 0 } as const;

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

  it("starts a cycle's steps in ascending order of their sequences, whatever order the jobs came in", async () => {
    // llama.cpp passes over the weights once for each run of consecutive sequence ids in the batch's order.
    const scheduler = createScheduler({ laneCapacity: { chat: 4, prompt: 1 } });
    const started: number[][] = [];
    let cycle: number[] = [];
    const record = (sequence: number) => async () => {
      if (cycle.length === 0) queueMicrotask(() => started.push(cycle));
      cycle.push(sequence);
      await tick();
      cycle = [];
    };
    const reply = (sequence: number) => async (job: JobContext) => {
      for (let index = 0; index < 3; index += 1) await job.step(record(sequence), { ...GENERATED, sequence });
    };
    const prompt = (sequence: number) => async (job: JobContext) => {
      await job.step(record(sequence), { tokens: 16, generating: false, sequence });
    };
    await Promise.all([
      ...[7, 3, 5, 4].map((sequence) => scheduler.submit({ kind: 'chat', lane: 'chat' }, reply(sequence))),
      scheduler.submit({ kind: 'sentiment', lane: 'prompt' }, prompt(0)),
    ]);
    // The prompt chunk decodes first, then the replies' tokens (see the next tests).
    expect(started).toEqual([[0], [3, 4, 5, 7], [3, 4, 5, 7], [3, 4, 5, 7]]);
  });

  it("decodes a cycle's prompt chunks before its single tokens, and settles them as soon as theirs ends", async () => {
    const reports: CycleReport[] = [];
    const scheduler = createScheduler({ laneCapacity: { chat: 2, prompt: 1 }, onCycle: (report) => reports.push(report) });
    const events: string[] = [];
    const step = (name: string) => async () => {
      events.push(`${name}:start`);
      await tick();
      events.push(`${name}:end`);
    };
    const reply = scheduler.submit({ kind: 'chat', lane: 'chat' }, async (job) => {
      await job.step(step('reply'), { ...GENERATED, sequence: 3 });
    });
    const prompt = scheduler.submit({ kind: 'sentiment', lane: 'prompt' }, async (job) => {
      await job.step(step('prompt'), { tokens: 16, generating: false, sequence: 0 });
      events.push('prompt:settled');
    });
    await Promise.all([reply, prompt]);
    // One cycle, two decodes: the chunk's ends before the token's starts, and its job goes on while the token decodes.
    expect(events).toEqual(['prompt:start', 'prompt:end', 'reply:start', 'prompt:settled', 'reply:end']);
    expect(reports).toEqual([expect.objectContaining({ steps: 2, decodes: 2, generating: 1, tokens: 17 })]);
  });

  it('fills short gaps between the sequences of a cycle of single tokens, in id order, and gives them back after', async () => {
    const asked: number[][] = [];
    const started: string[][] = [];
    let cycle: string[] = [];
    const begin = (what: string): void => {
      if (cycle.length === 0) queueMicrotask(() => started.push(cycle));
      cycle.push(what);
    };
    const end = async (): Promise<void> => {
      await tick();
      cycle = [];
    };
    let givenBack = 0;
    const reports: CycleReport[] = [];
    const scheduler = createScheduler({
      laneCapacity: { chat: 4, prompt: 1 },
      onCycle: (report) => reports.push(report),
      batching: {
        promptTokensBesideReplies: 80,
        promptTokensAlone: 512,
        gapFillers: (sequences) => {
          asked.push([...sequences]);
          // Sequence 6 is "busy" elsewhere: its gap stays; 3 and 4 are idle.
          const fills = sequences.includes(5) ? [3, 4] : [];
          if (fills.length === 0) return undefined;
          return {
            fills: fills.map((sequence) => ({ sequence, run: async () => { begin(`fill${sequence}`); await end(); } })),
            giveBack: () => (givenBack += 1),
          };
        },
      },
    });
    const reply = (sequence: number, tokens: number) => async (job: JobContext) => {
      for (let index = 0; index < tokens; index += 1) {
        await job.step(async () => { begin(`reply${sequence}`); await end(); }, { ...GENERATED, sequence });
      }
    };
    const prompt = async (job: JobContext) => {
      await job.step(async () => { begin('prompt'); await end(); }, { tokens: 16, generating: false, sequence: 0 });
    };
    await Promise.all([
      ...[[7, 2], [2, 2], [5, 2]].map(([sequence, tokens]) => scheduler.submit({ kind: 'chat', lane: 'chat' }, reply(sequence!, tokens!))),
      scheduler.submit({ kind: 'sentiment', lane: 'prompt' }, prompt),
    ]);
    // The first cycle decodes its 16-token prompt step alone, then the single tokens on 2, 5 and 7, as the second
    // cycle does: fillers on 3 and 4, started between 2 and 5; the gap at 6 stays (none given for it).
    expect(started).toEqual([
      ['prompt'],
      ['reply2', 'fill3', 'fill4', 'reply5', 'reply7'],
      ['reply2', 'fill3', 'fill4', 'reply5', 'reply7'],
    ]);
    expect(asked).toEqual([[2, 5, 7], [2, 5, 7]]);
    expect(givenBack).toBe(2);
    expect(reports.map((report) => [report.sequences, report.decodes, report.fillers])).toEqual([
      [[0, 2, 5, 7], 2, 2],
      [[2, 5, 7], 1, 2],
    ]);
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
      for (let index = 0; index < chunks; index += 1) await job.step(tick, { tokens: 64, generating: false, sequence: 0 });
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

  it('lets new jobs fill a decode beside replies that have only just started, one chunk beside older ones', async () => {
    // Three keys' 64-token queries arrive while a reply runs. Beside its first tokens (eight conversations opened
    // together, whose verdicts end a few decodes apart) they take one decode together, up to the batch; beside a
    // reply past them, one chunk a decode, so its pace holds.
    const promptsBesideReplies = async (starting: boolean) => {
      const cycles: CycleReport[] = [];
      const scheduler = createScheduler({
        laneCapacity: { chat: 4, prompt: 3 },
        batching: { promptTokensBesideReplies: 80, promptTokensAlone: 512 },
        onCycle: (report) => cycles.push(report),
      });
      const reply = async (job: JobContext) => {
        for (let index = 0; index < 4; index += 1) await job.step(tick, { ...GENERATED, starting });
      };
      const query = async (job: JobContext) => job.step(tick, { tokens: 64, generating: false, sequence: 1 });
      await Promise.all([
        scheduler.submit({ kind: 'chat', lane: 'chat' }, reply),
        ...['A', 'B', 'C'].map((key) => scheduler.submit({ kind: 'sentiment', lane: 'prompt', key }, query)),
      ]);
      return cycles.filter((cycle) => cycle.generating > 0).map((cycle) => cycle.steps - cycle.generating);
    };
    expect(await promptsBesideReplies(true)).toEqual([3, 0, 0, 0]);
    expect(await promptsBesideReplies(false)).toEqual([1, 1, 1, 0]);
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

describe('Scheduler: fair shares while jobs run', () => {
  /** A batch-like job: `parts` prompt steps, yielding its slot between them, logging each. */
  const yieldingJob = (name: string, parts: number, log: string[]) => async (job: JobContext) => {
    for (let index = 0; index < parts; index += 1) {
      if (index > 0) await job.yield();
      await job.step(async () => {
        log.push(`${name}${index}`);
        await tick();
      }, STEP);
    }
    return name;
  };

  it("hands a running batch's slot to another key's job between parts, then resumes it before its own key's backlog", async () => {
    const scheduler = createScheduler({ maxQueue: 8 });
    const log: string[] = [];
    const batch = scheduler.submit({ kind: 'sentiment-batch', lane: 'a', key: 'A' }, yieldingJob('A', 5, log));
    const backlog = scheduler.submit({ kind: 'sentiment-batch', lane: 'a', key: 'A' }, yieldingJob('Z', 2, log));
    await tick();
    const single = scheduler.submit({ kind: 'sentiment', lane: 'a', key: 'B' }, yieldingJob('B', 1, log));
    await Promise.all([batch, backlog, single]);
    // Without yielding, B would wait for the whole batch (A0..A4); it waits for one part. The batch then resumes
    // ahead of its own key's other job, which was admitted after it.
    expect(log.indexOf('B0')).toBeLessThanOrEqual(2);
    expect(log.indexOf('A4')).toBeLessThan(log.indexOf('Z0'));
  });

  it('keeps its slot when only its own key waits, and a lone yield costs no turn', async () => {
    const scheduler = createScheduler({ maxQueue: 8 });
    const log: string[] = [];
    const first = scheduler.submit({ kind: 'sentiment-batch', lane: 'a', key: 'A' }, yieldingJob('A', 4, log));
    const second = scheduler.submit({ kind: 'sentiment-batch', lane: 'a', key: 'A' }, yieldingJob('Z', 1, log));
    await Promise.all([first, second]);
    expect(log).toEqual(['A0', 'A1', 'A2', 'A3', 'Z0']);
  });

  it('fails a job aborted while it waits for its turn back, and the lane stays usable', async () => {
    const scheduler = createScheduler({ maxQueue: 8 });
    const controller = new AbortController();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const yielded = scheduler.submit({ kind: 'sentiment-batch', lane: 'a', key: 'A', signal: controller.signal }, async (job) => {
      await job.step(tick, STEP);
      await job.yield();
      return 'resumed';
    });
    await tick();
    // B holds the slot that A handed over until the gate opens; A is aborted meanwhile.
    const holder = scheduler.submit({ kind: 'sentiment', lane: 'a', key: 'B' }, (job) => job.step(() => gate, STEP));
    await vi.waitFor(() => expect(scheduler.snapshot().running).toEqual(['sentiment']));
    controller.abort();
    await expect(yielded).rejects.toBeInstanceOf(AbortedError);
    release();
    await holder;
    // Both slots' worth of bookkeeping came back: a lane of one runs the next job at once.
    await expect(scheduler.submit({ kind: 'chat', lane: 'a' }, async (job) => job.step(async () => 'next', STEP))).resolves.toBe('next');
    expect(scheduler.snapshot()).toEqual({ queueDepth: 0, running: [] });
  });

  it('runs at most capacity - 1 long jobs in a lane, so a short job finds a slot at once', async () => {
    const scheduler = createScheduler({ maxQueue: 8 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Holding the slot without being inside a step: a step would hold the cycle too.
    const long = async (job: JobContext) => {
      await job.step(tick, STEP);
      await gate;
    };
    const longs = [0, 1, 2].map(() => scheduler.submit({ kind: 'extract', lane: 'wide', key: 'A', long: true }, long));
    await tick();
    expect(scheduler.snapshot().running.filter((kind) => kind === 'extract')).toHaveLength(2);
    // The third long job waits although a slot is free; a short job of any key takes that slot at once.
    const short = await scheduler.submit({ kind: 'sentiment', lane: 'wide', key: 'B' }, async (job) => job.step(async () => 'short', STEP));
    expect(short).toBe('short');
    expect(scheduler.snapshot().queueDepth).toBe(1);
    release();
    await Promise.all(longs);
  });

  it("evaluates a newcomer key's prompt step in the next cycle, on its own, whatever a busier key has waiting", async () => {
    const cycles: { steps: number; tokens: number }[] = [];
    const scheduler = createScheduler({
      laneCapacity: { wide: 3 },
      batching: { promptTokensBesideReplies: 80, promptTokensAlone: 512 },
      onCycle: (report) => cycles.push(report),
    });
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const chunks = (name: string, count: number, tokens: number) => async (job: JobContext) => {
      for (let index = 0; index < count; index += 1) {
        await job.step(async () => {
          log.push(`${name}${index}`);
          // The first cycle lasts until B has arrived, so B arrives while A's work runs.
          await gate;
        }, { tokens, generating: false, sequence: 0 });
      }
    };
    const flood = [0, 1].map((index) => scheduler.submit({ kind: 'analyze', lane: 'wide', key: 'A' }, chunks(`A${index}-`, 6, 64)));
    await vi.waitFor(() => expect(log).toHaveLength(2));
    const newcomer = scheduler.submit({ kind: 'sentiment', lane: 'wide', key: 'B' }, chunks('B', 1, 30));
    // A's first decode has taken longer than the margin by which B counts as the lighter key.
    await new Promise((resolve) => setTimeout(resolve, LIGHT_KEY_MARGIN_MS));
    release();
    await Promise.all([...flood, newcomer]);
    const cycleOfB = cycles.findIndex((cycle) => cycle.tokens === 30);
    // B's step ran alone (not sharing its decode with A's 64-token chunks), within two cycles of arriving.
    expect(cycleOfB).toBeGreaterThanOrEqual(0);
    expect(cycles[cycleOfB]).toMatchObject({ steps: 1, tokens: 30 });
    expect(log.indexOf('B0')).toBe(2);
    // A's two jobs still shared their decodes while B had nothing waiting.
    expect(cycles.filter((cycle) => cycle.steps === 2 && cycle.tokens === 128).length).toBeGreaterThan(2);
  });
});

describe('Scheduler: new jobs of keys on a par', () => {
  it('share a decode with nothing generating: their leading prompt steps, up to the batch, never a long job\'s later chunks', async () => {
    const cycles: { steps: number; generating: number; tokens: number }[] = [];
    const scheduler = createScheduler({
      maxQueue: 16,
      laneCapacity: { chat: 8, wide: 3 },
      batching: { promptTokensBesideReplies: 80, promptTokensAlone: 512 },
      onCycle: (report) => cycles.push(report),
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A long job of key L is past its leading tokens (five 32-token chunks) and holds the first decode.
    let chunksDone = 0;
    const long = scheduler.submit({ kind: 'analyze', lane: 'wide', key: 'L' }, async (job) => {
      for (let index = 0; index < 8; index += 1) {
        await job.step(async () => {
          chunksDone += 1;
          if (chunksDone === 5) await gate;
        }, { tokens: 32, generating: false, sequence: 9 });
      }
    });
    await vi.waitFor(() => expect(chunksDone).toBe(5));
    // Six conversations open at once, each a prompt of two chunks (40 tokens in all) and then a reply.
    const chat = (sequence: number) => async (job: JobContext) => {
      await job.step(tick, { tokens: 32, generating: false, sequence });
      await job.step(tick, { tokens: 8, generating: false, sequence });
      for (let index = 0; index < 3; index += 1) await job.step(tick, { tokens: 1, generating: true, sequence });
    };
    const chats = [1, 2, 3, 4, 5, 6].map((sequence) => scheduler.submit({ kind: 'chat', lane: 'chat', key: `C${sequence}` }, chat(sequence)));
    await tick();
    release();
    await Promise.all([long, ...chats]);
    const after = cycles.slice(5);
    // The next decode carried every conversation's first chunk and nothing of L's (192 tokens, six steps), the one
    // after it their last chunks; then the replies' tokens.
    expect(after[0]).toMatchObject({ steps: 6, generating: 0, background: 0, tokens: 192, owed: false });
    expect(after[1]).toMatchObject({ steps: 6, generating: 0, background: 0, tokens: 48, owed: false });
    expect(after[2]).toMatchObject({ generating: 6 });
  });
});

describe('Scheduler: a short job finishes in back-to-back decodes', () => {
  it("runs a job's leading steps ahead of another key's further-on work, even when its key used more engine time lately", async () => {
    const scheduler = createScheduler({ laneCapacity: { wide: 3 } });
    const log: string[] = [];
    const slowStep = (name: string, ms: number) => async () => {
      log.push(name);
      await new Promise((resolve) => setTimeout(resolve, ms));
    };
    // B has just used the engine for a long while (eight slow steps); A then starts a job of many 32-token chunks.
    await scheduler.submit({ kind: 'analyze', lane: 'wide', key: 'B' }, async (job) => {
      for (let index = 0; index < 8; index += 1) await job.step(slowStep(`b${index}`, 15), { tokens: 32, generating: false, sequence: 0 });
    });
    const chunks = { tokens: 32, generating: false, sequence: 0 } as const;
    const flood = scheduler.submit({ kind: 'analyze', lane: 'wide', key: 'A' }, async (job) => {
      for (let index = 0; index < 40; index += 1) await job.step(slowStep(`A${index}`, 5), chunks);
    });
    // A's job is past its leading prompt tokens (LEADING_PROMPT_TOKENS) before B's short job arrives.
    await vi.waitFor(() => expect(log).toContain('A5'), { interval: 1 });
    const before = log.length;
    const short = scheduler.submit({ kind: 'sentiment', lane: 'wide', key: 'B' }, async (job) => {
      await job.step(slowStep('B-load', 1), { tokens: 0, generating: false, sequence: 0 });
      await job.step(slowStep('B-text', 1), { tokens: 32, generating: false, sequence: 0 });
      await job.step(slowStep('B-rest', 1), { tokens: 16, generating: false, sequence: 0 });
    });
    await Promise.all([flood, short]);
    const first = log.indexOf('B-load');
    // At most A's decode in flight came first; then B's three steps, with none of A's in between.
    expect(log.slice(first, first + 3)).toEqual(['B-load', 'B-text', 'B-rest']);
    expect(first).toBeLessThanOrEqual(before + 1);
  });

  it("loads a saved state in a cycle of its own, and shares a light key's leading step's decode with replies' tokens only", async () => {
    const cycles: { steps: number; generating: number; tokens: number }[] = [];
    const recording = createScheduler({ laneCapacity: { wide: 4 }, onCycle: (report) => cycles.push(report) });
    let stop = false;
    const reply = recording.submit({ kind: 'chat', lane: 'wide', key: 'A' }, async (job) => {
      while (!stop) await job.step(tick, GENERATED);
    });
    // A's other job is past its leading tokens, and A has used the engine for well over LIGHT_KEY_MARGIN_MS lately:
    // its chunks (15 ms decodes each) wait beside the reply.
    const slowChunk = () => new Promise((resolve) => setTimeout(resolve, 15));
    const further = recording.submit({ kind: 'analyze', lane: 'wide', key: 'A' }, async (job) => {
      for (let index = 0; index < 40; index += 1) await job.step(slowChunk, { tokens: 24, generating: false, sequence: 0 });
    });
    await vi.waitFor(() => expect(cycles.filter((cycle) => cycle.tokens >= 24).length).toBeGreaterThan(12), { interval: 1, timeout: 5_000 });
    const from = cycles.length;
    await recording.submit({ kind: 'sentiment', lane: 'wide', key: 'B' }, async (job) => {
      await job.step(tick, { tokens: 0, generating: false, sequence: 0 });
      await job.step(tick, { tokens: 32, generating: false, sequence: 0 });
    });
    // A cycle is reported once its last decode ends, after B's text step has settled (it decodes first).
    await vi.waitFor(() => expect(cycles.slice(from).some((cycle) => cycle.tokens === 33)).toBe(true), { interval: 1, timeout: 5_000 });
    const during = cycles.slice(from);
    // The load ran with nothing else (no decode to wait for); B's text shared its cycle with the reply's token only.
    expect(during).toContainEqual(expect.objectContaining({ steps: 1, generating: 0, tokens: 0 }));
    expect(during).toContainEqual(expect.objectContaining({ steps: 2, generating: 1, tokens: 33 }));
    stop = true;
    await Promise.all([reply, further]);
  });

  it("sizes a sharing deep prompt's next chunk from its last decode's time, within its bounds", () => {
    expect(sharedChunkTokens(undefined)).toBe(LONG_JOB_PROMPT_TOKENS_SHARED);
    // Near a text's start a decode is quick: more tokens, up to the bound. Deeper (80 ms for 16): fewer; 8 at least.
    expect(sharedChunkTokens({ tokens: 16, ms: 60 })).toBe(Math.floor((16 * SHARED_DECODE_TARGET_MS) / 60));
    expect(sharedChunkTokens({ tokens: 24, ms: 30 })).toBe(LONG_JOB_PROMPT_TOKENS_MAX);
    expect(sharedChunkTokens({ tokens: 16, ms: 80 })).toBe(Math.floor((16 * SHARED_DECODE_TARGET_MS) / 80));
    expect(sharedChunkTokens({ tokens: 8, ms: 200 })).toBe(LONG_JOB_PROMPT_TOKENS_MIN);
  });

  it("evaluates a long job's prompt in small chunks only while another key's prompt work ran since it started", async () => {
    const scheduler = createScheduler({ laneCapacity: { wide: 3 }, inUseWindowMs: 60_000 });
    const chunkSizes: (number | undefined)[] = [];
    let otherKeyDone!: () => void;
    const otherKeyRan = new Promise<void>((resolve) => (otherKeyDone = resolve));
    const long = scheduler.submit({ kind: 'analyze', lane: 'wide', key: 'A', long: true }, async (job) => {
      chunkSizes.push(job.promptChunkTokens);
      // A slow decode (deep in a long prompt): 32 tokens in over 300 ms.
      await job.step(() => new Promise((resolve) => setTimeout(resolve, 300)), { tokens: 32, generating: false, sequence: 0 });
      await otherKeyRan;
      chunkSizes.push(job.promptChunkTokens);
    });
    const short = scheduler.submit({ kind: 'sentiment', lane: 'wide', key: 'A' }, async (job) => {
      chunkSizes.push(job.promptChunkTokens);
      await job.step(tick, { tokens: 32, generating: false, sequence: 0 });
    });
    await short;
    await scheduler.submit({ kind: 'sentiment', lane: 'wide', key: 'B' }, async (job) => job.step(tick, STEP));
    otherKeyDone();
    await long;
    // A long job that starts after B's work (a client's next operation, without API keys) keeps the usual chunk.
    await scheduler.submit({ kind: 'sentiment-batch', lane: 'wide', key: 'C', long: true }, async (job) => {
      await job.step(() => new Promise((resolve) => setTimeout(resolve, 300)), { tokens: 32, generating: false, sequence: 0 });
      chunkSizes.push(job.promptChunkTokens);
    });
    // Alone (its own key's other work does not count) the long job takes the usual chunk; after B's step, one sized
    // from its last decode (the fewest, after one that slow). A short job always takes the usual chunk.
    expect(chunkSizes).toEqual([undefined, undefined, LONG_JOB_PROMPT_TOKENS_MIN, undefined]);
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

describe('Scheduler: background work on spare capacity', () => {
  const background = (lane = 'bg') => ({ kind: 'job' as const, lane, background: true });
  const createBackgroundScheduler = (overrides: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) =>
    createScheduler({ laneCapacity: { a: 1, b: 1, bg: 2 }, ...overrides });

  it("runs an interactive job's steps before any further background step", async () => {
    const scheduler = createBackgroundScheduler();
    const log: string[] = [];
    let interactive: Promise<string> | undefined;
    const busy = scheduler.submit(background(), async (job) => {
      for (let index = 0; index < 8; index += 1) {
        await job.step(async () => {
          log.push(`B${index}`);
          // Arrives while a background decode is in flight: it may wait for that one, and no other.
          if (index === 2) interactive = scheduler.submit({ kind: 'sentiment', lane: 'a' }, steppingJob('I', 3, log));
          await tick();
        }, STEP);
      }
    });
    await busy;
    await interactive;
    expect(log).toEqual(['B0', 'B1', 'B2', 'I0', 'I1', 'I2', 'B3', 'B4', 'B5', 'B6', 'B7']);
  });

  it('holds background steps back while an interactive job runs between its steps, and goes on once it ends', async () => {
    const scheduler = createBackgroundScheduler();
    const log: string[] = [];
    let release!: () => void;
    const outside = new Promise<void>((resolve) => (release = resolve));
    // Running, but waiting for something that is not a step (a read, a client): background work waits with it.
    const interactive = scheduler.submit({ kind: 'chat', lane: 'a' }, async (job) => {
      await job.step(async () => log.push('I0'), STEP);
      await outside;
      log.push('I done');
    });
    await tick();
    const busy = scheduler.submit(background(), steppingJob('B', 2, log));
    await tick();
    await tick();
    expect(log).toEqual(['I0']);
    release();
    await Promise.all([interactive, busy]);
    expect(log).toEqual(['I0', 'I done', 'B0', 'B1']);
  });

  it('never refuses background jobs for a full queue, nor counts them against interactive ones', async () => {
    const scheduler = createBackgroundScheduler({ maxQueue: 1, maxQueuePerKey: 1 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = async (context: JobContext) => context.step(() => gate, STEP);
    // Two run, four wait in the background queue: none is refused.
    const jobs = Array.from({ length: 6 }, () => scheduler.submit({ ...background(), key: 'K' }, held));
    // The interactive queue is as empty as before: one runs, one waits, the next is refused.
    const running = scheduler.submit({ kind: 'sentiment', lane: 'a', key: 'K' }, held);
    const waiting = scheduler.submit({ kind: 'sentiment', lane: 'a', key: 'K' }, held);
    await expect(scheduler.submit({ kind: 'sentiment', lane: 'a', key: 'K' }, held)).rejects.toBeInstanceOf(EngineBusyError);
    expect(scheduler.snapshot().queueDepth).toBe(1);
    release();
    await Promise.all([...jobs, running, waiting]);
  });

  it('gives background jobs no time limit: only their signal stops them', async () => {
    const scheduler = createBackgroundScheduler({ jobTimeoutMs: 20 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = scheduler.submit(background(), async () => gate.then(() => 'done'));
    // An interactive job under the same limit times out meanwhile.
    const untilStopped = (job: JobContext) =>
      new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason), { once: true }));
    await expect(scheduler.submit({ kind: 'chat', lane: 'a' }, untilStopped)).rejects.toBeInstanceOf(TimeoutError);
    release();
    await expect(slow).resolves.toBe('done');
    const controller = new AbortController();
    const endless = scheduler.submit({ ...background(), signal: controller.signal }, async (job) => {
      for (;;) await job.step(tick, STEP);
    });
    await tick();
    controller.abort();
    await expect(endless).rejects.toBeInstanceOf(AbortedError);
  });

  it("shares a decode between keys' background steps when quiet, and takes one small step at a time while in use", async () => {
    const cycles: { steps: number; background: number; tokens: number }[] = [];
    const chunks: (number | undefined)[] = [];
    // A window no test run outlasts: "in use" after the interactive job below, "quiet" before any ran.
    const scheduler = createBackgroundScheduler({ inUseWindowMs: 3_600_000, onCycle: (report) => cycles.push(report) });
    const prompt = (count: number) => async (job: JobContext) => {
      for (let index = 0; index < count; index += 1) {
        chunks.push(job.promptChunkTokens);
        await job.step(tick, { tokens: job.promptChunkTokens ?? 32, generating: false, sequence: 0 });
      }
    };
    await Promise.all(['A', 'B'].map((key) => scheduler.submit({ ...background(), key }, prompt(3))));
    expect(cycles.every((cycle) => cycle.background === cycle.steps)).toBe(true);
    expect(cycles.some((cycle) => cycle.background === 2)).toBe(true);
    expect(chunks.every((chunk) => chunk === undefined)).toBe(true);

    await scheduler.submit({ kind: 'sentiment', lane: 'a' }, steppingJob('I', 1, []));
    cycles.length = 0;
    chunks.length = 0;
    await Promise.all(['A', 'B'].map((key) => scheduler.submit({ ...background(), key }, prompt(3))));
    expect(chunks.every((chunk) => chunk === BACKGROUND_PROMPT_TOKENS_IN_USE)).toBe(true);
    expect(cycles).toHaveLength(6);
    for (const cycle of cycles) expect(cycle).toMatchObject({ steps: 1, background: 1, tokens: BACKGROUND_PROMPT_TOKENS_IN_USE });
  });

  it('gives waiting background work its share of a busy engine: a decode of its own once owed a small decode', async () => {
    const share = 0.5;
    const cycles: CycleReport[] = [];
    const scheduler = createBackgroundScheduler({
      batching: { promptTokensBesideReplies: 80, promptTokensAlone: 512, backgroundShare: share },
      onCycle: (report) => cycles.push(report),
    });
    const log: { name: 'I' | 'B'; ms: number }[] = [];
    const timed = (name: 'I' | 'B', ms: number) => async () => {
      const startedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push({ name, ms: performance.now() - startedAt });
    };
    let backgroundDone = false;
    // A reply generating without a pause, far longer than the background job needs: the engine is never idle.
    const reply = scheduler.submit({ kind: 'chat', lane: 'a' }, async (job) => {
      let steps = 0;
      for (; !backgroundDone && steps < 400; steps += 1) await job.step(timed('I', 4), GENERATED);
      return steps;
    });
    await tick();
    await scheduler.submit(background(), async (job) => {
      for (let index = 0; index < 3; index += 1) await job.step(timed('B', 1), STEP);
      backgroundDone = true;
    });
    // It finished while the reply still generated (without a share it would have waited for all 400 steps)...
    expect(await reply).toBeLessThan(400);
    // ...in cycles of its own, taken because they were owed...
    const withBackground = cycles.filter((cycle) => cycle.background > 0);
    expect(withBackground).toHaveLength(3);
    for (const cycle of withBackground) expect(cycle).toMatchObject({ owed: true, generating: 0, steps: 1 });
    // ...and only once the reply's cycles before it had taken a small decode's worth divided by the share.
    const first = cycles.findIndex((cycle) => cycle.background > 0);
    const before = cycles.slice(0, first).reduce((sum, cycle) => sum + cycle.ms, 0);
    expect(before).toBeGreaterThanOrEqual(BACKGROUND_TURN_MS / share);
    // A cycle's time covers its step's (what it is charged is at least what the step took).
    expect(cycles.slice(0, first).reduce((sum, cycle) => sum + cycle.ms, 0)).toBeGreaterThanOrEqual(
      log.filter((entry) => entry.name === 'I').slice(0, first).reduce((sum, entry) => sum + entry.ms, 0),
    );
  });

  it('refuses a background share outside 0 to 0.5', () => {
    expect(() => new BackgroundShare(0.6)).toThrow(RangeError);
    expect(() => new BackgroundShare(-0.1)).toThrow(RangeError);
    expect(new BackgroundShare(0).due).toBe(false);
  });

  it("serves background keys in turn, whatever another key's backlog", async () => {
    const scheduler = createBackgroundScheduler({ laneCapacity: { bg: 1 } });
    const order: string[] = [];
    const job = (name: string) => async (context: JobContext) => {
      order.push(name);
      await context.step(tick, STEP);
    };
    const flood = Array.from({ length: 4 }, (_, index) => scheduler.submit({ ...background(), key: 'A' }, job(`A${index}`)));
    const single = scheduler.submit({ ...background(), key: 'B' }, job('B0'));
    await Promise.all([...flood, single]);
    expect(order.indexOf('B0')).toBe(1);
  });
});
