// The engine's shared types: what its public methods take and give, kept apart so its modules never import each other in a circle.
import type { AbortSignalLike } from '../forwardAbort.js';
import type { ModelSource } from './loadModel.js';
import type { ChatTurn, Locale } from './prompts.js';
import type { JobKind } from './Scheduler.js';
import type { Classification } from './tasks/Classifier.js';
import type { Extraction } from './tasks/Extractor.js';

/** Who is asking, for fair turns across API keys, and how to stop. */
export interface JobOptions {
  /** An opaque key (an API key's fingerprint); jobs without one share a turn. */
  key?: string;
  signal?: AbortSignalLike;
}

export interface TaskRunOptions extends JobOptions {
  /** Default: detected from each text (Chinese script → zh, else en). */
  locale?: Locale;
  /** Refuse a task of the other kind (the `classify` and `extract` queries); `analyze` takes both. */
  kind?: 'classify' | 'extract';
  /**
   * Work nobody waits for (an analysis job's item): it runs on the engine's spare capacity, on its own sequences,
   * after every interactive job's steps, and with no time limit (its caller's signal stops it).
   */
  background?: boolean;
}

/** One task's result on a text. */
export type TaskResult = ({ task: string; kind: 'classify' } & Classification) | ({ task: string; kind: 'extract' } & Extraction);

export interface TaskRun {
  /** The language the prompts were in: the one asked for, or the one detected. */
  locale: Locale;
  /** In the order the tasks were asked for. */
  results: TaskResult[];
}

/** What `complete` generated. */
export interface Completion {
  text: string;
  /** Prompt tokens evaluated (all of them: nothing is reused). */
  promptTokens: number;
  /** Tokens generated. */
  tokens: number;
  /** Engine time, queue wait excluded. */
  latencyMs: number;
}

/** A label a classify task gave the new message, whose steering line (if any) goes into the reply's system prompt. */
export interface SteeringLabel {
  task: string;
  label: string;
}

export interface ChatRequest {
  /** Earlier turns, oldest first; trimmed oldest-first when they do not fit the context. */
  history: readonly ChatTurn[];
  message: string;
  locale?: Locale;
  /** Labels the chat's tasks gave the new message (its sentiment sets the tone, its intent may say "apologise first"). */
  steer?: readonly SteeringLabel[];
  /** Lets a follow-up land on the sequence that still holds this conversation. */
  conversationKey?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

export interface WarmUpProgress {
  /** Task instructions prepared so far. */
  done: number;
  /** Every task's instructions in both languages. */
  total: number;
  /** Of those prepared, how many were loaded from `taskStatesDir` rather than evaluated. */
  fromCache: number;
}

export interface EngineStatus {
  model: { name: string; source: ModelSource; synthetic: boolean; loadMs: number };
  /** The llama.cpp build in use: `native` (built here by `npm run build:native`) or node-llama-cpp's `prebuilt`. */
  runtime: 'native' | 'prebuilt';
  ready: boolean;
  threads: number;
  /** libuv's pool threads, where every decode runs (one keeps every decode on the same thread). */
  threadPoolSize: number;
  contextSize: number;
  /** Interactive jobs waiting for a free lane (background jobs wait apart and are not counted). */
  queueDepth: number;
  /** Kinds of the jobs running (background work is `job`). */
  runningJobs: JobKind[];
  maxParallelReplies: number;
  warmConversations: number;
  tokensGenerated: number;
  recentTokensPerSecond: number;
  /** Over the decodes so far (a cycle takes one or two): how many steps (generated tokens, prompt chunks) one carried on average. */
  averageStepsPerCycle: number;
}
