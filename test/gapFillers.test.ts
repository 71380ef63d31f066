// Throwaway tokens in the gaps between replies' sequences, on the real node-llama-cpp with the tiny model: the decodes
// of single tokens become one run of sequences, and the replies and the idle sequences' contents are what they would
// be without them.
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { GapFillers, MAX_GAP_FILLERS } from '../src/engine/GapFillers.js';
import { Engine, type ChatStream } from '../src/engine/index.js';
import { loadModel, type LoadedModel } from '../src/engine/loadModel.js';
import { takeSequences } from '../src/engine/sequenceIds.js';
import { SequencePool } from '../src/engine/SequencePool.js';
import type { CycleReport } from '../src/engine/StepBatcher.js';
import { TEST_THREADS } from './support/testApp.js';

const modelsDir = inject('modelsDir');
const tinyModelPath = inject('tinyModelPath');

async function textOf(stream: ChatStream) {
  for await (const delta of stream) void delta;
  return stream.result;
}

/**
 * Three replies at once on three chat sequences (2, 3, 4: the engine's two task sequences come first), the middle one
 * two tokens long, the others 24; then the middle conversation's next turn, on its warm sequence.
 */
async function round(fillGaps: boolean) {
  const reports: CycleReport[] = [];
  const engine = await Engine.load({
    model: tinyModelPath,
    modelsDir,
    threads: TEST_THREADS,
    contextSize: 1024,
    maxParallelReplies: 3,
    warmConversations: 3,
    fillGaps,
    onCycle: (report) => reports.push(report),
  });
  try {
    const ask = (conversationKey: string, message: string, maxTokens: number, history: { role: 'user' | 'assistant'; content: string }[] = []) =>
      textOf(engine.chat({ history, message, temperature: 0, maxTokens, conversationKey, locale: 'en' }));
    const replies = await Promise.all([
      ask('a', 'Tell me about the sea.', 24),
      ask('b', 'Say hi.', 2),
      ask('c', 'And about the mountains?', 24),
    ]);
    const next = await ask('b', 'And then?', 12, [
      { role: 'user', content: 'Say hi.' },
      { role: 'assistant', content: replies[1].text },
    ]);
    return { replies, next, reports };
  } finally {
    await engine.dispose();
  }
}

describe('Gap fillers on the tiny synthetic model', () => {
  it('makes the replies around an ended one a single run of sequences, and changes no reply and no idle sequence', async () => {
    const without = await round(false);
    const filled = await round(true);
    // Without fillers, once the middle reply ended the others' tokens sat on sequences 2 and 4.
    const gapped = without.reports.filter((report) => report.generating === 2 && report.sequences.join() === '2,4');
    expect(gapped.length).toBeGreaterThan(5);
    expect(without.reports.every((report) => report.fillers === 0)).toBe(true);
    // With them, the same cycles carried one throwaway token on 3, the idle middle sequence.
    const withFiller = filled.reports.filter((report) => report.fillers > 0);
    expect(withFiller.map((report) => [report.sequences.join(), report.fillers])).toEqual(gapped.map(() => ['2,4', 1]));
    // Every reply is the same, token for token, and so is the middle conversation's next turn, which reused its warm
    // sequence as much as without fillers: the filler token left nothing behind.
    expect(filled.replies.map((reply) => reply.text)).toEqual(without.replies.map((reply) => reply.text));
    expect(filled.replies.map((reply) => reply.completionTokens)).toEqual([24, 2, 24]);
    expect(filled.next.text).toBe(without.next.text);
    expect(filled.next.promptTokensEvaluated).toBe(without.next.promptTokensEvaluated);
    expect(filled.next.promptTokensEvaluated).toBeLessThan(filled.next.promptTokens);
  });
});

describe('GapFillers on a real context', () => {
  let loaded: LoadedModel | undefined;
  afterAll(async () => {
    await loaded?.model.dispose();
    await loaded?.llama.dispose();
  });

  /** The next token's distribution after `sequence`'s tokens, as node-llama-cpp gives it (probabilities by token). */
  const nextOf = async (sequence: LlamaContextSequence, token: Token) => {
    const [result] = await sequence.controlledEvaluate([[token, { generateNext: { probabilities: true } }]]);
    return [...result!.next.probabilities!.entries()].slice(0, 5);
  };

  it('leaves an idle sequence holding exactly what it held, and fills only idle sequences with room in short gaps', async () => {
    loaded = await loadModel({ model: tinyModelPath, modelsDir, gpu: 'off', useMmap: false });
    const contextSize = 64;
    const context = await loaded.model.createContext({ contextSize, sequences: 10, threads: TEST_THREADS });
    const sequences = takeSequences(context, 10);
    const pool = new SequencePool(sequences);
    const fillers = new GapFillers([pool], contextSize);
    const tokens = (count: number, from: number) => Array.from({ length: count }, (_, index) => (from + index * 7) as Token);
    // 0 and 2 stand for replies' sequences (the pool is not asked: fillers only look at the gaps); 1 holds a
    // conversation, and 9 the same tokens, never filled, for comparison.
    const held = tokens(6, 40);
    for (const sequence of [sequences[0]!, sequences[2]!]) await sequence.evaluateWithoutGeneratingNewTokens(tokens(5, 10));
    for (const sequence of [sequences[1]!, sequences[9]!]) await sequence.evaluateWithoutGeneratingNewTokens(held);

    const filling = fillers.fill([0, 2])!;
    expect(filling.fills.map((fill) => fill.sequence)).toEqual([1]);
    // Lent: a job asking for a sequence now waits for the decode's end.
    let acquired = false;
    const waiting = pool.acquire('newcomer').then((lease) => {
      acquired = true;
      return lease;
    });
    // One decode: a token on 0 and 2, the filler on 1.
    await Promise.all([
      sequences[0]!.controlledEvaluate([[3 as Token, { generateNext: { token: true } }]]),
      filling.fills[0]!.run(),
      sequences[2]!.controlledEvaluate([[3 as Token, { generateNext: { token: true } }]]),
    ]);
    expect(acquired).toBe(false);
    filling.giveBack();
    (await waiting).release();
    expect(acquired).toBe(true);

    expect(sequences[1]!.contextTokens).toEqual(held);
    expect(sequences[1]!.nextTokenIndex).toBe(held.length);
    // Its KV cache too: the next token's distribution is the one of a sequence that was never filled.
    expect(await nextOf(sequences[1]!, 9 as Token)).toEqual(await nextOf(sequences[9]!, 9 as Token));

    // No filler for a busy sequence, one with no room left, or a gap wider than MAX_GAP_FILLERS.
    const lease = await pool.acquire('reply-1');
    expect(sequences.indexOf(lease.sequence)).toBe(1);
    expect(fillers.fill([0, 2])).toBeUndefined();
    lease.release();
    await sequences[3]!.evaluateWithoutGeneratingNewTokens(tokens(contextSize - 2, 1));
    expect(fillers.fill([2, 4])).toBeUndefined();
    expect(fillers.fill([4, 5 + MAX_GAP_FILLERS + 1])).toBeUndefined();
    expect(fillers.fill([4, 5 + MAX_GAP_FILLERS])?.fills.map((fill) => fill.sequence)).toEqual([5, 6, 7]);
  });
});
