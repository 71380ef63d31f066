// syncSequence against a recording stand-in for a context sequence: which tokens each decode gets, and when.
import type { LlamaContext, Token } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import type { JobContext } from '../src/engine/Scheduler.js';
import { takeSequences } from '../src/engine/sequenceIds.js';
import { MERGED_REMAINDER_TOKENS, PROMPT_CHUNK_TOKENS, syncSequence } from '../src/engine/syncSequence.js';

/** Holds tokens like a KV cache and logs every operation, tagged with the scheduler step it ran in. */
function recordingSequence(resident: number[]) {
  const tokens = [...resident];
  const log: string[] = [];
  let step = 0;
  const sequence = {
    get nextTokenIndex() {
      return tokens.length;
    },
    compareContextTokens(wanted: Token[]) {
      let index = 0;
      while (index < tokens.length && index < wanted.length && tokens[index] === wanted[index]) index += 1;
      return { firstDifferentIndex: index };
    },
    async eraseContextTokenRanges([range]: { start: number; end: number }[]) {
      log.push(`step${step}: erase ${range!.start}-${range!.end}`);
      tokens.splice(range!.start, range!.end - range!.start);
    },
    async evaluateWithoutGeneratingNewTokens(chunk: Token[]) {
      log.push(`step${step}: evaluate ${chunk.length}`);
      tokens.push(...chunk);
    },
  };
  const job: JobContext = {
    kind: 'chat',
    signal: new AbortController().signal,
    yield: async () => {},
    step: async (work) => {
      step += 1;
      return work();
    },
  };
  // Taken the engine's way, so the steps can name its id.
  const [taken] = takeSequences({ getSequence: () => sequence } as unknown as LlamaContext, 1);
  return { sequence: taken!, job, log, tokens };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => (from + index) as Token);

describe('syncSequence', () => {
  it('evaluates full chunks in their own steps and hands the last chunk to the final step', async () => {
    const { sequence, job, log } = recordingSequence(range(0, 10));
    const last = MERGED_REMAINDER_TOKENS + 20;
    const wanted = range(0, 10 + 2 * PROMPT_CHUNK_TOKENS + last);
    const synced = await syncSequence(job, sequence, wanted, async (pending) => {
      log.push(`final: ${pending.length} pending, first ${pending[0]}`);
      return 'sampled';
    });
    expect(synced).toEqual({ value: 'sampled', evaluated: 2 * PROMPT_CHUNK_TOKENS + last });
    expect(log).toEqual([
      `step1: evaluate ${PROMPT_CHUNK_TOKENS}`,
      `step2: evaluate ${PROMPT_CHUNK_TOKENS}`,
      `final: ${last} pending, first ${10 + 2 * PROMPT_CHUNK_TOKENS}`,
    ]);
  });

  it('lets a short remainder join the last chunk rather than pay for a decode of its own', async () => {
    const { sequence, job, log } = recordingSequence([]);
    const wanted = range(0, PROMPT_CHUNK_TOKENS + MERGED_REMAINDER_TOKENS);
    await syncSequence(job, sequence, wanted, async (pending) => void log.push(`final: ${pending.length}`));
    expect(log).toEqual([`final: ${PROMPT_CHUNK_TOKENS + MERGED_REMAINDER_TOKENS}`]);
  });

  it('erases stale tokens in the same step as the first evaluation, so a short prompt is one step', async () => {
    // A sentiment call: the warm prefix (0..19) is resident, followed by the previous call's text.
    const { sequence, job, log, tokens } = recordingSequence([...range(0, 20), ...range(900, 903)]);
    const synced = await syncSequence(job, sequence, [...range(0, 20), ...range(500, 502)], async (pending) => {
      log.push(`step1: final ${pending.join(',')}`);
    });
    expect(synced.evaluated).toBe(2);
    expect(log).toEqual(['step1: erase 20-23', 'step1: final 500,501']);
    expect(tokens).toEqual(range(0, 20));
  });

  it('re-evaluates the last token when everything is resident, because the caller needs its distribution', async () => {
    const { sequence, job, log } = recordingSequence(range(0, 8));
    const synced = await syncSequence(job, sequence, range(0, 8), async (pending) => pending);
    expect(synced).toEqual({ value: [7], evaluated: 1 });
    expect(log).toEqual(['step1: erase 7-8']);
  });
});
