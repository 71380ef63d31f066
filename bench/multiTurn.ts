// Benchmark 4: time to first token of turn N with the conversation resident in a sequence vs re-evaluated from
// scratch, N = 1…10.
import { isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { loadBenchEngine } from './lib/engine.js';
import { figure } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { ENGINE_DEFAULTS, type ChatRequest, type ChatTurn, type Engine, type ReplyResult } from '../src/engine/index.js';

/** F16 K and V for this shape: 24 layers × 2 KV heads × 64 dimensions × 2 bytes × 2. */
const KV_BYTES_PER_TOKEN = 24 * 2 * 64 * 2 * 2;

interface TurnSample {
  resident: ReplyResult;
  scratch: ReplyResult;
}

export const multiTurn: Benchmark = {
  id: 'multi-turn',
  title: '4. Multi-turn reuse',
  async run(options) {
    const turns = sized(options, 10, 2);
    const replyTokens = sized(options, 24, 4);
    const engine = await loadBenchEngine(options);
    // samples[run][turn]
    const samples: TurnSample[][] = [];
    try {
      for (let run = 0; run < options.runs; run += 1) {
        const locale = run % 2 === 0 ? 'en' : 'zh';
        const pool = options.sentences[locale];
        const messages = Array.from({ length: turns }, (_, turn) => pool[(run * turns + turn) % pool.length]!.text);
        const resident = await residentConversation(engine, messages, { locale, maxTokens: replyTokens, key: `resident-${run}` });
        const scratch: ReplyResult[] = [];
        for (let turn = 0; turn < turns; turn += 1) {
          // Other conversations, in the other language so that they share no system prompt with this one, take
          // every warm sequence: nothing of this conversation stays resident.
          for (let other = 0; other < ENGINE_DEFAULTS.warmConversations; other += 1) {
            await reply(engine, {
              history: [],
              message: locale === 'en' ? '你好。' : 'Hi.',
              locale: locale === 'en' ? 'zh' : 'en',
              maxTokens: 1,
              conversationKey: `evict-${run}-${turn}-${other}`,
            });
          }
          scratch.push(
            await reply(engine, {
              history: resident.history.slice(0, 2 * turn),
              message: messages[turn]!,
              locale,
              maxTokens: 1,
              conversationKey: `scratch-${run}-${turn}`,
            }),
          );
        }
        samples.push(resident.results.map((result, turn) => ({ resident: result, scratch: scratch[turn]! })));
        options.log(
          `multi-turn run ${run + 1} (${locale}): resident ${resident.results.map((result) => Math.round(ttft(result))).join(' ')} ms; ` +
            `scratch ${scratch.map((result) => Math.round(ttft(result))).join(' ')} ms`,
        );
      }
    } finally {
      await engine.dispose();
    }

    const atTurn = (turn: number, curve: keyof TurnSample) => samples.map((run) => ttft(run[turn]![curve]));
    const growth = (curve: keyof TurnSample) => samples.map((run) => ttft(run[turns - 1]![curve]) / ttft(run[0]![curve]));
    return {
      settings: {
        threads: options.threads,
        runs: options.runs,
        turns,
        'reply tokens per turn': replyTokens,
        'warm conversations': ENGINE_DEFAULTS.warmConversations,
      },
      figures: [
        figure({
          id: 'ttft-last-turn',
          label: `Time to first token at turn ${turns}, conversation resident`,
          unit: 'ms',
          value: summarize(atTurn(turns - 1, 'resident')),
          baseline: { label: 're-evaluated from scratch', value: summarize(atTurn(turns - 1, 'scratch')) },
        }),
        figure({
          id: 'growth-resident',
          label: `Turn ${turns} ÷ turn 1 time to first token, conversation resident (1 = flat)`,
          unit: '×',
          value: summarize(growth('resident')),
          baseline: { label: 'from scratch', value: summarize(growth('scratch')) },
        }),
      ],
      tables: [
        {
          title: 'Time to first token by turn (median over runs; English and Chinese conversations alternate)',
          columns: ['Turn', 'Prompt tokens', 'Evaluated, resident', 'TTFT resident (ms)', 'Evaluated, scratch', 'TTFT scratch (ms)'],
          rows: Array.from({ length: turns }, (_, turn) => [
            turn + 1,
            summarize(samples.map((run) => run[turn]!.resident.promptTokens)).median,
            summarize(samples.map((run) => run[turn]!.resident.promptTokensEvaluated)).median,
            summarize(atTurn(turn, 'resident')).median,
            summarize(samples.map((run) => run[turn]!.scratch.promptTokensEvaluated)).median,
            summarize(atTurn(turn, 'scratch')).median,
          ]),
        },
      ],
      notes: [
        'Engine level, in this process. Each turn is a user sentence and a generated reply; the next turn sends the ' +
          'whole history, as the service does. Resident: the conversation keeps its warm sequence, so a turn evaluates ' +
          'the new message (and any reply text that re-tokenizes differently from the tokens generated). Scratch: two ' +
          'other conversations (in the other language) take the warm sequences first, so the same prompt is evaluated ' +
          'from the start (only `<|im_start|>system`, common to every conversation, remains).',
        'Time to first token is the engine\'s, from the job\'s start to the first text delta.',
        `The trade-off: each warm conversation holds a sequence of CONTEXT_SIZE tokens, ${Math.round(
          (KV_BYTES_PER_TOKEN * ENGINE_DEFAULTS.contextSize) / 2 ** 20,
        )} MiB of KV cache at the default ${ENGINE_DEFAULTS.contextSize} (see the memory benchmark), and saves a ` +
          `returning conversation ${Math.round(summarize(atTurn(turns - 1, 'scratch')).median - summarize(atTurn(turns - 1, 'resident')).median)} ms ` +
          `of time to first token by turn ${turns}; more warm conversations keep more users fast at once.`,
      ],
    };
  },
};

function ttft(result: ReplyResult): number {
  return result.timeToFirstTokenMs ?? Number.NaN;
}

async function reply(engine: Engine, request: ChatRequest): Promise<ReplyResult> {
  const stream = engine.chat({ temperature: 0.7, seed: 7, ...request });
  for await (const _ of stream);
  return stream.result;
}

async function residentConversation(
  engine: Engine,
  messages: string[],
  options: { locale: 'en' | 'zh'; maxTokens: number; key: string },
): Promise<{ results: ReplyResult[]; history: ChatTurn[] }> {
  const history: ChatTurn[] = [];
  const results: ReplyResult[] = [];
  for (const [turn, message] of messages.entries()) {
    const result = await reply(engine, {
      history: [...history],
      message,
      locale: options.locale,
      maxTokens: options.maxTokens,
      conversationKey: options.key,
      seed: turn,
    });
    results.push(result);
    history.push({ role: 'user', content: message }, { role: 'assistant', content: result.text });
  }
  return { results, history };
}

if (isMainModule(import.meta.url)) await runStandalone(multiTurn);
