// The baseline side: node-llama-cpp used directly on the same file and thread count, with nothing of ours on top.
import { TokenBias, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import {
  ENGINE_DEFAULTS,
  SAMPLING_DEFAULTS,
  type ChatTurn,
  type KvCacheType,
  type Locale,
  type LlamaRuntime,
  type SentimentLabel,
} from '../../src/engine/index.js';
import { loadLlama } from '../../src/engine/loadModel.js';
import { ASSISTANT_REPLY_LEAD, chatSystemPrompt, chatTurnPrompt } from '../../src/engine/prompts.js';
import { SENTIMENT_DEFINITION } from '../../src/engine/tasks/builtinTasks.js';
import { classifierTaskOf } from '../../src/engine/tasks/taskPrompts.js';
import { TextDeltaDecoder } from '../../src/engine/TextDeltaDecoder.js';
import { tokenizeParts } from '../../src/engine/tokenizeParts.js';

export interface RawContextOptions {
  modelPath: string;
  threads: number;
  contextSize?: number;
  batchSize?: number;
  sequences?: number;
  useMmap?: boolean;
  /** The KV cache type (default: the engine's); llama.cpp needs flash attention for a quantized V cache. */
  kvCacheType?: KvCacheType;
  /** Which llama.cpp build (default: the engine's, the native one when built). */
  runtime?: LlamaRuntime;
}

export interface RawContext {
  model: LlamaModel;
  context: LlamaContext;
  build: 'native' | 'prebuilt';
  /** How long each step of opening took. */
  timings: RawOpenTimings;
  dispose(): Promise<void>;
}

export interface RawOpenTimings {
  /** `getLlama`: the addon and its CPU backend loaded (on Linux, a prebuilt binary is first tested in a child process). */
  llamaMs: number;
  /** `loadModel`: the GGUF header read, the vocabulary built, the weights read (and repacked where the CPU backend does). */
  modelMs: number;
  /** `createContext`: the KV cache allocated and cleared, compute buffers reserved. */
  contextMs: number;
}

/** Loads the model and creates a context shaped like the engine's (same context size, batch, sequences). */
export async function openRawContext(options: RawContextOptions): Promise<RawContext> {
  const startedAt = performance.now();
  const { llama, build } = await loadLlama({ gpu: 'off', runtime: options.runtime ?? ENGINE_DEFAULTS.runtime });
  const llamaAt = performance.now();
  const model = await llama.loadModel({ modelPath: options.modelPath, useMmap: options.useMmap ?? ENGINE_DEFAULTS.useMmap });
  const modelAt = performance.now();
  const contextSize = options.contextSize ?? ENGINE_DEFAULTS.contextSize;
  const context = await model.createContext({
    contextSize,
    batchSize: Math.min(options.batchSize ?? ENGINE_DEFAULTS.batchSize, contextSize),
    sequences: options.sequences ?? ENGINE_DEFAULTS.taskSequences + ENGINE_DEFAULTS.warmConversations,
    threads: options.threads,
    ...((options.kvCacheType ?? ENGINE_DEFAULTS.kvCacheType) === 'q8_0'
      ? { flashAttention: true, experimentalKvCacheKeyType: 'Q8_0', experimentalKvCacheValueType: 'Q8_0' }
      : {}),
  });
  const timings = { llamaMs: llamaAt - startedAt, modelMs: modelAt - llamaAt, contextMs: performance.now() - modelAt };
  return {
    model,
    context,
    build,
    timings,
    dispose: async () => {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

/** The exact prompt tokens the engine builds for a chat turn (system prompt with tone, history, message, lead). */
export function chatPromptTokens(
  model: LlamaModel,
  request: { history?: readonly ChatTurn[]; message: string; locale: Locale; userSentiment?: SentimentLabel },
): Token[] {
  return [
    ...tokenizeParts(model, chatSystemPrompt(request.locale, request.userSentiment ? toneHint(request.userSentiment, request.locale) : [])),
    ...(request.history ?? []).flatMap((turn) => tokenizeParts(model, chatTurnPrompt(turn))),
    ...tokenizeParts(model, [...chatTurnPrompt({ role: 'user', content: request.message }), ...ASSISTANT_REPLY_LEAD]),
  ];
}

export interface RawGeneration {
  /**
   * From the start of the call (prefix reuse included) to the first token that completes some text, which is
   * what a client can be sent (a token may end inside a multi-byte character).
   */
  timeToFirstTokenMs: number;
  /** performance.now() of every sampled token. */
  tokenAt: number[];
  promptTokensEvaluated: number;
}

/**
 * Plain node-llama-cpp usage done well: keep the resident prefix, evaluate the rest of the prompt in one call
 * and sample with the engine's default settings (temperature, top-p, repeat penalty over the last 64 tokens).
 */
export async function rawGenerate(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  prompt: readonly Token[],
  options: { maxTokens: number; seed: number; temperature?: number },
): Promise<RawGeneration> {
  const startedAt = performance.now();
  const pending = await reusePrefix(sequence, prompt);
  const generated: Token[] = [];
  const tokenAt: number[] = [];
  const decoder = new TextDeltaDecoder(model);
  let firstTextAt: number | undefined;
  const generator = sequence.evaluate(pending, {
    temperature: options.temperature ?? SAMPLING_DEFAULTS.temperature,
    topP: SAMPLING_DEFAULTS.topP,
    seed: options.seed,
    repeatPenalty: {
      penalty: SAMPLING_DEFAULTS.repeatPenalty,
      punishTokens: () => generated.slice(-64),
      maxPunishTokens: 64,
    },
  });
  try {
    for await (const token of generator) {
      const now = performance.now();
      tokenAt.push(now);
      generated.push(token);
      if (firstTextAt === undefined && decoder.push(token) !== '') firstTextAt = now;
      if (generated.length >= options.maxTokens) break;
    }
  } finally {
    await generator.return();
  }
  // Text still held back at the end is sent when the reply ends, as the engine does.
  const firstText = firstTextAt ?? tokenAt.at(-1) ?? Number.NaN;
  return { timeToFirstTokenMs: firstText - startedAt, tokenAt, promptTokensEvaluated: pending.length };
}

export function tokensPerSecond(tokenAt: readonly number[]): number {
  const first = tokenAt[0];
  const last = tokenAt.at(-1);
  if (first === undefined || last === undefined || last <= first) return Number.NaN;
  return ((tokenAt.length - 1) * 1000) / (last - first);
}

/** The sentiment task as the engine's classifier runs it. */
const SENTIMENT_PROMPTS = classifierTaskOf(SENTIMENT_DEFINITION).prompts;

/** The steering line the engine adds to a reply's system prompt for the user's sentiment (none for neutral). */
function toneHint(label: SentimentLabel, locale: Locale): string[] {
  const steer = SENTIMENT_DEFINITION.labels.find((candidate) => candidate.name === label)?.steer;
  return steer ? [steer[locale]] : [];
}

/** The engine's sentiment prompt for a text: the constant prefix (kept warm) and the per-call query. */
export function sentimentPromptTokens(model: LlamaModel, text: string, locale: Locale): { prefix: Token[]; query: Token[] } {
  const prompt = SENTIMENT_PROMPTS[locale];
  return {
    prefix: tokenizeParts(model, prompt.prefix),
    query: tokenizeParts(model, [{ text, trusted: false }, ...prompt.suffix]),
  };
}

/** First tokens of every spelling of every label, as the engine's classifier reads them. */
export function labelFirstTokens(model: LlamaModel, locale: Locale): Token[] {
  const spellings = Object.values(SENTIMENT_PROMPTS[locale].spellings).flat();
  return [...new Set(spellings.map((spelling) => tokenizeParts(model, [{ text: spelling, trusted: false }])[0]!))];
}

/** Keeps the longest resident prefix of `tokens` (all but the last token at most) and returns the rest. */
export async function reusePrefix(sequence: LlamaContextSequence, tokens: readonly Token[]): Promise<Token[]> {
  const keep = Math.min(sequence.compareContextTokens([...tokens]).firstDifferentIndex, tokens.length - 1);
  if (sequence.nextTokenIndex > keep)
    await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
  return tokens.slice(keep);
}

/** A sentiment call done directly: warm prefix, the query in one decode, the label tokens' probabilities read. */
export async function rawClassify(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  text: string,
  locale: Locale,
): Promise<{ ms: number; evaluated: number }> {
  const startedAt = performance.now();
  const { prefix, query } = sentimentPromptTokens(model, text, locale);
  const pending = await reusePrefix(sequence, [...prefix, ...query]);
  const labels = labelFirstTokens(model, locale);
  const bias = new TokenBias(model.tokenizer);
  for (const token of labels) bias.set(token, { logit: 1000 });
  const generator = sequence.evaluateWithMetadata(
    pending,
    { probabilities: true },
    { temperature: 1, topK: labels.length, topP: 1, seed: 0, tokenBias: bias },
  );
  try {
    await generator.next();
  } finally {
    await generator.return();
  }
  return { ms: performance.now() - startedAt, evaluated: pending.length };
}
