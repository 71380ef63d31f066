// Benchmark 11: tasks by prompt. Two classify tasks in one `analyze` against one sentiment call, what keywords'
// grammar-constrained generation costs per token against plain decoding, and that warm instructions are never
// evaluated again.
import { benchModelPath, isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { loadBenchEngine } from './lib/engine.js';
import { figure } from './lib/results.js';
import { mixedSentences } from './lib/sentences.js';
import { differences, summarize } from './lib/stats.js';
import type { Engine, TaskResult } from '../src/engine/index.js';

/** analyze(sentiment, intent) may cost at most this many sentiment calls (issue 13). */
const ANALYZE_TARGET_RATIO = 2;
const PLAIN_REPLY_TOKENS = 32;

export const tasks: Benchmark = {
  id: 'tasks',
  title: '11. Tasks by prompt: analyze, extraction, warm instructions',
  async run(options) {
    await benchModelPath(options);
    const sentences = mixedSentences(options.sentences, sized(options, 8, 2));
    const engine = await loadBenchEngine(options);
    const sentimentMs: number[] = [];
    const analyzeMs: number[] = [];
    const withKeywordsMs: number[] = [];
    const keywordTokens: number[] = [];
    const plainMsPerToken: number[] = [];
    const evaluated: Record<'sentiment' | 'intent', number[]> = { sentiment: [], intent: [] };
    const prefixes = new Map<string, number>();
    try {
      // Warm-up: each task's instructions in each language are evaluated (or loaded) once.
      for (const { text, locale } of sentences.slice(0, 2)) {
        await engine.runTasks(text, ['sentiment', 'intent', 'keywords'], { locale });
        await engine.runTasks(text, ['sentiment'], { locale });
      }
      for (let run = 0; run < options.runs; run += 1) {
        // One pass over the sentences per kind of call, the passes alternating run by run: consecutive calls are on
        // different texts, so no call finds its text still in a sequence from the call before.
        for (const { text, locale } of sentences) sentimentMs.push(await timed(() => engine.runTasks(text, ['sentiment'], { locale })));
        for (const { text, locale } of sentences) {
          const analyzed = await timedRun(() => engine.runTasks(text, ['sentiment', 'intent'], { locale }));
          analyzeMs.push(analyzed.ms);
          for (const result of analyzed.value) {
            if (result.task === 'sentiment' || result.task === 'intent') evaluated[result.task].push(result.promptTokens);
            prefixes.set(result.prefix, (prefixes.get(result.prefix) ?? 0) + 1);
          }
        }
        // Keywords once (their answers on random weights run up to the schema's bound, ~1,000 tokens), paired with
        // the same texts' analyze of this first run.
        if (run === 0)
          for (const { text, locale } of sentences) {
            const full = await timedRun(() => engine.runTasks(text, ['sentiment', 'intent', 'keywords'], { locale }));
            withKeywordsMs.push(full.ms);
            const keywords = full.value.find((result) => result.task === 'keywords');
            keywordTokens.push(keywords?.kind === 'extract' ? keywords.tokens : Number.NaN);
          }
        for (const { text, locale } of sentences) plainMsPerToken.push(await plainDecodeMsPerToken(engine, text, locale));
      }
    } finally {
      await engine.dispose();
    }
    const extractionMsPerToken = differences(withKeywordsMs, analyzeMs.slice(0, withKeywordsMs.length)).map(
      (ms, index) => ms / keywordTokens[index]!,
    );
    const resident = [...prefixes].map(([how, count]) => `${how}: ${count}`).join(', ');
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        sentences: `${sentences.length} (English and Chinese alternating)`,
        'plain reply tokens': PLAIN_REPLY_TOKENS,
      },
      figures: [
        figure({
          id: 'analyze-two-tasks',
          label: 'analyze with sentiment + intent (two classify tasks, one engine job)',
          unit: 'ms',
          value: summarize(analyzeMs),
          baseline: { label: 'one sentiment call', value: summarize(sentimentMs) },
          target: { on: 'ratio', op: '<=', threshold: ANALYZE_TARGET_RATIO },
        }),
        figure({
          id: 'keywords-per-token',
          label:
            'keywords: extraction time per generated token (grammar-constrained; analyze with it minus without, paired by text)',
          unit: 'ms/token',
          value: summarize(extractionMsPerToken.filter(Number.isFinite)),
          baseline: {
            label: `plain decoding (a chat reply of ${PLAIN_REPLY_TOKENS} tokens, after its first)`,
            value: summarize(plainMsPerToken),
          },
        }),
        figure({
          id: 'intent-tokens-evaluated',
          label: "intent: tokens evaluated per call while warm (the user's text and a short suffix)",
          unit: 'tokens',
          value: summarize(evaluated.intent),
          baseline: { label: 'sentiment, same calls', value: summarize(evaluated.sentiment) },
        }),
      ],
      tables: [
        {
          title: 'Generated keyword answers',
          columns: ['Tokens (median)', 'Min', 'Max'],
          rows: [[summarize(keywordTokens).median, summarize(keywordTokens).min, summarize(keywordTokens).max]],
        },
      ],
      notes: [
        "Latencies are the engine's time in this process on the stand-in model (random weights: the labels and " +
          'keywords themselves mean nothing; their costs are real).',
        `How each classify call found its task's instructions: ${resident} (resident: still in the sequence; loaded: ` +
          'its saved state copied in; evaluated: computed again, which after the warm-up never happens).',
        'The tokens evaluated per call exclude the instructions: only the text and the prompt suffix are evaluated.',
      ],
    };
  },
};

async function timed(work: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return performance.now() - startedAt;
}

async function timedRun(work: () => Promise<{ results: TaskResult[] }>): Promise<{ value: TaskResult[]; ms: number }> {
  const startedAt = performance.now();
  const { results } = await work();
  return { value: results, ms: performance.now() - startedAt };
}

/** A reply's decode time per token after the first, at temperature 0 (ends early on an end token). */
async function plainDecodeMsPerToken(engine: Engine, message: string, locale: 'en' | 'zh'): Promise<number> {
  const stream = engine.chat({ history: [], message, locale, maxTokens: PLAIN_REPLY_TOKENS, temperature: 0 });
  for await (const _ of stream);
  const { durationMs, timeToFirstTokenMs, completionTokens } = await stream.result;
  if (timeToFirstTokenMs === undefined || completionTokens < 2) return Number.NaN;
  return (durationMs - timeToFirstTokenMs) / (completionTokens - 1);
}

if (isMainModule(import.meta.url)) await runStandalone(tasks);
