// Benchmark 17: replies that end at different times. With a KV cache per sequence llama.cpp decodes single tokens on
// consecutive sequences in one pass, so an ended reply between running ones costs every later decode a pass more,
// unless the engine fills the gap with a throwaway token (GapFillers). Alternating, in this process.
import { benchModelPath, isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { loadBenchEngine } from './lib/engine.js';
import { figure } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { summarize } from './lib/stats.js';
import { SAMPLING_DEFAULTS, type CycleReport, type Engine } from '../src/engine/index.js';

/** The engine's replies decoded together at its defaults (MAX_PARALLEL_REPLIES). */
const REPLIES = 8;
/** Which of them end early (in the order sent, so on the second and fifth of eight consecutive sequences). */
const SHORT = new Set([1, 4]);
/** What the filled decodes must gain over the same decodes with gaps: a pass less of two or three. */
const STEP_TARGET_RATIO = 1.25;

interface Side {
  /** Median time of the decodes that carried only the long replies' tokens, once the short ones had ended. */
  stepMs: number[];
  /** Every reply's tokens over the round's time. */
  aggregate: number[];
  /** Tokens the long and the short replies generated, to check both sides did the same work. */
  tokens: string[];
  fillers: number[];
}

export const gaps: Benchmark = {
  id: 'gaps',
  title: '17. Replies ending at different times: one pass per decode',
  async run(options) {
    await benchModelPath(options);
    const longTokens = sized(options, 64, 8);
    const shortTokens = sized(options, 8, 2);
    const messages = mixedSentences(options.sentences, REPLIES);
    const sides: Record<'filled' | 'gapped', Side> = {
      filled: { stepMs: [], aggregate: [], tokens: [], fillers: [] },
      gapped: { stepMs: [], aggregate: [], tokens: [], fillers: [] },
    };
    // One engine per side and run, loaded in turn (never both at once), the order alternating run by run.
    for (let run = 0; run < options.runs; run += 1) {
      const order = run % 2 === 0 ? (['filled', 'gapped'] as const) : (['gapped', 'filled'] as const);
      for (const side of order) {
        await measureSide(options, side === 'filled', messages, { longTokens, shortTokens, seed: run }, sides[side]);
      }
    }
    const { filled, gapped } = sides;
    if (new Set([...filled.tokens, ...gapped.tokens]).size !== 1) {
      throw new Error(`The two sides generated different replies (${[...filled.tokens, ...gapped.tokens].join('; ')}).`);
    }
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        replies: `${REPLIES} at once (MAX_PARALLEL_REPLIES), on consecutive sequences; the 2nd and 5th end after ${shortTokens} tokens, the others after ${longTokens}`,
        'tokens per round (long replies, short replies)': filled.tokens[0] ?? '',
        'throwaway tokens per round': summarize(filled.fillers).median,
      },
      figures: [
        figure({
          id: 'step-after-gaps',
          label: `A decode of the ${REPLIES - SHORT.size} running replies' tokens once the 2nd and 5th have ended (median per round), with a throwaway token in each gap`,
          unit: 'ms',
          value: summarize(filled.stepMs),
          baseline: { label: 'the same decodes without them (three runs of sequences: a pass each)', value: summarize(gapped.stepMs) },
          ratioOf: 'baseline/value',
          target: { on: 'ratio', op: '>=', threshold: STEP_TARGET_RATIO },
        }),
        figure({
          id: 'aggregate-with-gaps',
          label: `The round's aggregate, every reply's tokens over its time, with the throwaway tokens`,
          unit: 'tok/s',
          value: summarize(filled.aggregate),
          baseline: { label: 'without them', value: summarize(gapped.aggregate) },
        }),
      ],
      tables: [],
      notes: [
        'The engine in this process, at its defaults but for the gap fillers (EngineOptions.fillGaps), on the stand-in ' +
          'model; the replies are seeded, so both sides generate the same tokens (checked) and only the batches differ.',
        "llama.cpp splits a decode into passes over the weights that each take consecutive sequence ids (one KV cache " +
          'per sequence, as node-llama-cpp makes it), so once the 2nd and 5th of eight replies have ended the other six ' +
          'sit in three runs (1, 2 and 3 sequences). With a throwaway token on each ended reply\'s idle sequence, ' +
          'evaluated without logits and erased in the same cycle, they are one run again. node-llama-cpp lays a batch ' +
          "out in the order evaluations reach it; the project's patch lays it out by sequence id, so a filler reached " +
          'later still lands in its gap.',
      ],
    };
  },
};

async function measureSide(
  options: Parameters<Benchmark['run']>[0],
  fillGaps: boolean,
  messages: readonly Sentence[],
  sizes: { longTokens: number; shortTokens: number; seed: number },
  into: Side,
): Promise<void> {
  const cycles: CycleReport[] = [];
  const engine = await loadBenchEngine(options, { fillGaps, onCycle: (report) => cycles.push(report) });
  try {
    // Untimed: the first round after loading meets cold caches.
    await round(engine, messages, sizes);
    const from = cycles.length;
    const startedAt = performance.now();
    const tokens = await round(engine, messages, sizes);
    const elapsedMs = performance.now() - startedAt;
    const running = REPLIES - SHORT.size;
    const afterGaps = cycles.slice(from).filter((cycle) => cycle.generating === running && cycle.steps === running);
    into.stepMs.push(summarize(afterGaps.map((cycle) => cycle.ms)).median);
    into.aggregate.push((tokens.long + tokens.short) / (elapsedMs / 1000));
    into.tokens.push(`${tokens.long}, ${tokens.short}`);
    into.fillers.push(cycles.slice(from).reduce((sum, cycle) => sum + cycle.fillers, 0));
  } finally {
    await engine.dispose();
  }
}

/** The replies at once, sent in order; the tokens the long ones and the short ones generated. */
async function round(
  engine: Engine,
  messages: readonly Sentence[],
  sizes: { longTokens: number; shortTokens: number; seed: number },
): Promise<{ long: number; short: number }> {
  const results = await Promise.all(
    messages.map(async ({ text, locale }, index) => {
      const stream = engine.chat({
        history: [],
        message: text,
        locale,
        temperature: SAMPLING_DEFAULTS.temperature,
        seed: sizes.seed * REPLIES + index,
        maxTokens: SHORT.has(index) ? sizes.shortTokens : sizes.longTokens,
      });
      for await (const delta of stream) void delta;
      return { index, tokens: (await stream.result).completionTokens };
    }),
  );
  const sum = (short: boolean) => results.filter(({ index }) => SHORT.has(index) === short).reduce((total, { tokens }) => total + tokens, 0);
  return { long: sum(false), short: sum(true) };
}

if (isMainModule(import.meta.url)) await runStandalone(gaps);
