// A reply as it is generated: an async iterator of text deltas plus the final result.
import type { ReplyResult } from './generateReply.js';

export interface ChatStream extends AsyncIterable<string> {
  /** Settles when generation ends: the reply and its statistics, or the error that ended it. */
  readonly result: Promise<ReplyResult>;
}

/**
 * Buffers deltas pushed by the engine until the consumer pulls them. Breaking out of the
 * iteration calls `onCancel`, so a consumer that goes away stops the generation.
 */
export function createChatStream(
  start: (push: (delta: string) => void) => Promise<ReplyResult>,
  onCancel: () => void,
): ChatStream {
  const buffered: string[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;

  const push = (delta: string): void => {
    buffered.push(delta);
    wake?.();
  };
  const result = start(push);
  result.then(
    () => {
      finished = true;
      wake?.();
    },
    (error: unknown) => {
      finished = true;
      failure = error;
      wake?.();
    },
  );

  async function* iterate(): AsyncGenerator<string> {
    let completed = false;
    try {
      while (true) {
        if (buffered.length > 0) {
          yield buffered.shift()!;
          continue;
        }
        if (finished) {
          completed = true;
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      if (!completed) onCancel();
    }
  }

  return { result, [Symbol.asyncIterator]: iterate };
}
