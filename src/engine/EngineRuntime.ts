// What the engine's job modules (tasks, chat, completion, warm-up) share: the model, the scheduler, its pools, the tasks.
import type { LlamaModel } from 'node-llama-cpp';
import type { EngineHooks, ResolvedEngineOptions } from './EngineOptions.js';
import type { PrefixStates } from './PrefixStates.js';
import type { Scheduler } from './Scheduler.js';
import type { SequencePool } from './SequencePool.js';
import type { TaskRegistry } from './tasks/TaskRegistry.js';
import type { TokenRateMeter } from './TokenRateMeter.js';

export interface EngineRuntime {
  readonly model: LlamaModel;
  readonly registry: TaskRegistry;
  /** Saved states of constant prompt prefixes: the tasks' instructions, the chat's system prompt. */
  readonly prefixStates: PrefixStates;
  readonly scheduler: Scheduler;
  readonly hooks: EngineHooks;
  readonly taskPool: SequencePool;
  readonly chatPool: SequencePool;
  /** Background work's own sequences (none when `backgroundSequences` is 0). */
  readonly backgroundPool: SequencePool;
  /** Counts generated reply tokens, for the status's recent rate. */
  readonly meter: TokenRateMeter;
  readonly options: ResolvedEngineOptions;
  /** Tokens each sequence holds. */
  readonly contextSize: number;
}
