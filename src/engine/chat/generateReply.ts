// One chat reply: evaluate the prompt (reusing the resident prefix), then sample token by token, one step each.
import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { AbortedError } from '../errors.js';
import { generateTokens } from '../generateTokens.js';
import type { JobContext } from '../Scheduler.js';
import { TextDeltaDecoder } from '../TextDeltaDecoder.js';

export type FinishReason = 'stop' | 'length' | 'aborted';

export interface SamplingOptions {
  /** 0 means greedy decoding, which is deterministic. */
  temperature: number;
  topP: number;
  /** Seed for sampling when temperature > 0; the same seed and prompt give the same reply. */
  seed?: number;
  /** Most tokens the reply may have; reaching it ends the reply with finish reason `length`. */
  maxTokens: number;
  /** Penalty for repeating one of the last 64 tokens; 1 disables it. */
  repeatPenalty: number;
}

export interface ReplyResult {
  text: string;
  finishReason: FinishReason;
  /** Prompt tokens this call evaluated; the rest was reused from the sequence's KV cache. */
  promptTokensEvaluated: number;
  promptTokens: number;
  completionTokens: number;
  /** From the start of the job to the first text delta; undefined when the reply is empty. */
  timeToFirstTokenMs?: number;
  durationMs: number;
}

const REPEAT_PENALTY_WINDOW = 64;

export async function generateReply(
  job: JobContext,
  model: LlamaModel,
  sequence: LlamaContextSequence,
  promptTokens: readonly Token[],
  sampling: SamplingOptions,
  onText: (delta: string) => void,
  onToken: () => void,
): Promise<ReplyResult> {
  const startedAt = performance.now();
  const decoder = new TextDeltaDecoder(model);
  let text = '';
  const generatedTokens: Token[] = [];
  let timeToFirstTokenMs: number | undefined;
  let finishReason: FinishReason = 'stop';
  let promptTokensEvaluated = 0;

  const emit = (delta: string): void => {
    if (delta.length === 0) return;
    timeToFirstTokenMs ??= performance.now() - startedAt;
    text += delta;
    onText(delta);
  };

  try {
    const samplingOptions = {
      temperature: sampling.temperature,
      topP: sampling.topP,
      ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
      ...(sampling.repeatPenalty === 1
        ? {}
        : {
            repeatPenalty: {
              penalty: sampling.repeatPenalty,
              punishTokens: () => generatedTokens.slice(-REPEAT_PENALTY_WINDOW),
              maxPunishTokens: REPEAT_PENALTY_WINDOW,
            },
          }),
    };
    const tokens = generateTokens(job, sequence, promptTokens, samplingOptions, (evaluated) => {
      promptTokensEvaluated = evaluated;
    });
    for await (const token of tokens) {
      generatedTokens.push(token);
      onToken();
      emit(decoder.push(token));
      if (generatedTokens.length >= sampling.maxTokens) {
        finishReason = 'length';
        break;
      }
    }
  } catch (error) {
    // A caller's abort is a normal end with the text so far; a timeout or shutdown is an error for the caller.
    if (!(error instanceof AbortedError)) throw error;
    finishReason = 'aborted';
  }
  emit(decoder.flush());
  return {
    text,
    finishReason,
    promptTokensEvaluated,
    promptTokens: promptTokens.length,
    completionTokens: generatedTokens.length,
    ...(timeToFirstTokenMs === undefined ? {} : { timeToFirstTokenMs }),
    durationMs: performance.now() - startedAt,
  };
}
