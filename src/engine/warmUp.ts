// The load-time warm-up: every task's instructions and every chat sequence's system prompt evaluated once.
import { chatSystemPrefix } from './chat/chatPrompt.js';
import type { EngineRuntime } from './EngineRuntime.js';
import { SENTIMENT_TASK_NAME } from './tasks/builtinTasks.js';
import type { WarmUpProgress } from './types.js';

/**
 * Puts every sequence's constant prefix in place at load: the task instructions (whose states are saved for any
 * task sequence to load later) and the chat system prompt, so that no first request pays for them or for
 * first-touch allocation of its KV cache. Each is evaluated once and its state saved: the other chat sequences, and
 * a restart with TASK_STATES_DIR, load it instead (evaluating it in 8 sequences took a start 0.3 s). Its cost grows
 * with the number of tasks (each instruction is evaluated and saved once, nothing is scanned again per task), so its
 * jobs have no time limit: `onWarmUp` reports progress.
 */
export async function warmUp(runtime: EngineRuntime): Promise<void> {
  const { model, registry, prefixStates, hooks, scheduler, taskPool, chatPool, options } = runtime;
  const chatPrefix = chatSystemPrefix(model, 'zh');
  const chatLeases = await Promise.all(Array.from({ length: chatPool.size }, () => chatPool.acquire(undefined)));
  // Every task's instructions in both languages, sentiment's last so they are the ones left resident.
  const names = [...registry.names.filter((name) => name !== SENTIMENT_TASK_NAME), SENTIMENT_TASK_NAME];
  const prefixes = names.flatMap((name) => (['zh', 'en'] as const).map((locale) => ({ name, locale })));
  const progress: WarmUpProgress = { done: 0, total: prefixes.length, fromCache: 0 };
  const report = (): void => {
    try {
      hooks.onWarmUp?.({ ...progress });
    } catch (error) {
      hooks.onWarning?.(`onWarmUp failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  report();
  // As many jobs as each lane runs at once, so warming up never waits in (or overflows) the queue.
  const taskJobs = spread(prefixes, options.taskSequences).map((share) =>
    scheduler.submit({ kind: 'analyze', lane: 'task', timeoutMs: null }, async (job) => {
      for (const { name, locale } of share) {
        const lease = await taskPool.acquire(`${name}:${locale}`);
        let restored;
        try {
          restored = await registry.warmUp(job, lease.sequence, name, locale);
        } finally {
          lease.release();
        }
        // Nothing is in memory yet: a state loaded now came from the cache folder.
        if (restored === 'loaded') progress.fromCache += 1;
        progress.done += 1;
        report();
      }
    }),
  );
  // One job: the first sequence evaluates the prompt (unless a saved state exists), the others load its state.
  const chatJob = scheduler.submit({ kind: 'chat', lane: 'chat', timeoutMs: null }, async (job) => {
    for (const { sequence } of chatLeases) await prefixStates.restore(job, sequence, chatPrefix.systemKey, chatPrefix.system);
  });
  try {
    await Promise.all([...taskJobs, chatJob]);
  } finally {
    for (const lease of chatLeases) lease.release();
  }
}

/** `items` dealt into at most `ways` non-empty shares. */
function spread<T>(items: readonly T[], ways: number): T[][] {
  const shares: T[][] = Array.from({ length: Math.min(ways, items.length) }, () => []);
  items.forEach((item, index) => shares[index % shares.length]!.push(item));
  return shares;
}
