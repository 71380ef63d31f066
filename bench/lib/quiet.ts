// Waits for the CPU to go quiet before a benchmark: llama.cpp's spinning threads make every figure depend on it.
import { readFileSync } from 'node:fs';

export interface QuietOptions {
  /** Fraction of CPU time that must be idle over a sample. */
  minIdle: number;
  sampleMs: number;
  /** Gives up waiting after this long and runs anyway (the result records the idle fraction it saw). */
  maxWaitMs: number;
  log: (message: string) => void;
}

export const DEFAULT_QUIET: Omit<QuietOptions, 'log' | 'maxWaitMs'> = { minIdle: 0.9, sampleMs: 2_000 };
/** Waiting for quiet, all benchmarks together: a busy machine delays the suite by at most this much. */
export const QUIET_BUDGET_MS = 240_000;

/** Resolves with the idle fraction of the last sample; waits while the machine is busier than `minIdle` allows. */
export async function waitForQuiet(options: QuietOptions): Promise<number> {
  const deadline = performance.now() + options.maxWaitMs;
  for (;;) {
    const idle = await sampleIdle(options.sampleMs);
    if (idle >= options.minIdle || performance.now() >= deadline) return idle;
    options.log(`the CPU is only ${(idle * 100).toFixed(0)}% idle (others are busy); waiting`);
  }
}

async function sampleIdle(ms: number): Promise<number> {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = cpuTimes();
  if (!before || !after) return 1;
  const total = after.total - before.total;
  return total > 0 ? (after.idle - before.idle) / total : 1;
}

/** Aggregate jiffies from /proc/stat (idle includes iowait); undefined where there is no /proc. */
function cpuTimes(): { idle: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((sum, value) => sum + value, 0) };
  } catch {
    return undefined;
  }
}
