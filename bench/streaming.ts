// Benchmark 1: what streaming through the API costs over raw node-llama-cpp decoding, over graphql-ws and SSE.
import path from 'node:path';
import type { LlamaContextSequence } from 'node-llama-cpp';
import { benchModelPath, isMainModule, runStandalone, serviceEnv, sized, type Benchmark } from './lib/benchmark.js';
import { chatOverSse, chatOverWebSocket, clientTokensPerSecond, sentimentQuery, type StreamTrace } from './lib/clients.js';
import {
  chatPromptTokens,
  openRawContext,
  rawClassify,
  rawGenerate,
  tokensPerSecond,
  type RawContext,
  type RawGeneration,
} from './lib/rawModel.js';
import { figure, type Figure } from './lib/results.js';
import { mixedSentences, type Sentence } from './lib/sentences.js';
import { startServiceProcess, type ServiceProcess } from './lib/serviceProcess.js';
import { differences, summarize } from './lib/stats.js';
import { ENGINE_DEFAULTS, type Locale, type SentimentLabel } from '../src/engine/index.js';

const TRANSPORTS = ['graphql-ws', 'SSE'] as const;
type Transport = (typeof TRANSPORTS)[number];
const PATHS = [...TRANSPORTS, 'raw'] as const;
/** Lets llama.cpp's spin-waiting threads of the previous path go idle before the next path is timed. */
const SETTLE_MS = 200;
/**
 * Classified before each path so that every path's sentiment call starts from the same cache state: the warm
 * system prefix plus this text, which shares nothing with the message (without it, the second path to classify
 * a message would find it already resident).
 */
const FLUSH_TEXT = { en: 'Okay.', zh: '好的。' } as const;

/** The baseline for one chat turn: classify the message, then evaluate the chat prompt and decode. */
interface RawTurn extends RawGeneration {
  classifyMs: number;
}

interface Round {
  traces: Record<Transport, StreamTrace[]>;
  raw: RawTurn[];
}

export const streaming: Benchmark = {
  id: 'streaming',
  title: '1. Streaming overhead',
  async run(options) {
    const modelPath = await benchModelPath(options);
    const decodeTokens = sized(options, 160, 8);
    const firstTokenRuns = sized(options, Math.max(21, 7 * options.runs), 1);
    const service = await startServiceProcess(serviceEnv(options, modelPath, path.join(options.workDir, `streaming-${process.pid}.db`)));
    // The baseline lives in this process, shaped like the service's context; the two never evaluate at once.
    const raw = await openRawContext({ modelPath, threads: options.threads });
    let decode: Round;
    let firstToken: Round;
    try {
      const messages = mixedSentences(options.sentences, 1 + options.runs + firstTokenRuns);
      const warmUp = messages.slice(0, sized(options, 1, 0));
      const labels = await labelsOf(service, messages);
      const rounds = new Rounds(service, raw, labels, options.log);
      await rounds.run(warmUp, decodeTokens);
      // Long replies for the decode rate; many short ones for the time to first token, which varies more.
      decode = await rounds.run(messages.slice(1, 1 + options.runs), decodeTokens);
      firstToken = await rounds.run(messages.slice(1 + options.runs), 1);
    } finally {
      await raw.dispose();
      await service.stop();
    }

    const rawRate = summarize(decode.raw.map((run) => tokensPerSecond(run.tokenAt)));
    const rawTtft = firstToken.raw.map(rawTimeToFirstToken);
    const figures: Figure[] = TRANSPORTS.flatMap((transport) => [
      figure({
        id: `tokens-per-second-${transport}`,
        label: `Decode rate seen by a ${transport} client`,
        unit: 'tok/s',
        value: summarize(decode.traces[transport].map(clientTokensPerSecond)),
        baseline: { label: 'raw node-llama-cpp', value: rawRate },
        target: { on: 'ratio', op: '>=', threshold: 0.97 },
      }),
      figure({
        id: `ttft-overhead-${transport}`,
        label: `Time to first token over ${transport} (from subscribing), minus the raw model work (paired per run)`,
        unit: 'ms',
        value: summarize(differences(firstToken.traces[transport].map(apiTimeToFirstToken), rawTtft)),
        baseline: { label: 'raw: classify + prompt to first token', value: summarize(rawTtft) },
        target: { on: 'value', op: '<=', threshold: 10 },
      }),
    ]);
    return {
      settings: {
        threads: options.threads,
        'decode runs': options.runs,
        'reply tokens (decode runs)': decodeTokens,
        'first-token runs': firstTokenRuns,
        'context size': ENGINE_DEFAULTS.contextSize,
        'batch size': ENGINE_DEFAULTS.batchSize,
      },
      figures,
      tables: [
        {
          title: 'Decode runs (graphql-ws / SSE / raw)',
          columns: ['Run', 'Reply tokens', 'Deltas ws/sse', 'tok/s ws/sse/raw'],
          rows: decode.raw.map((rawRun, index) => {
            const [ws, sse] = TRANSPORTS.map((transport) => decode.traces[transport][index]!);
            return [
              index + 1,
              ws!.tokenCount,
              `${ws!.deltaAt.length}/${sse!.deltaAt.length}`,
              [clientTokensPerSecond(ws!), clientTokensPerSecond(sse!), tokensPerSecond(rawRun.tokenAt)].map((rate) => rate.toFixed(1)).join(' / '),
            ];
          }),
        },
        {
          title: 'First-token runs (ms)',
          columns: ['Run', 'Chat prompt tokens evaluated', 'Subscribe → ChatStarted ws/sse', 'ChatStarted → first token ws/sse', 'Raw: classify + prompt → first token', 'TTFT ws/sse/raw'],
          rows: firstToken.raw.map((rawRun, index) => {
            const traces = TRANSPORTS.map((transport) => firstToken.traces[transport][index]!);
            return [
              index + 1,
              rawRun.promptTokensEvaluated,
              traces.map((trace) => (trace.startedAt - trace.subscribedAt).toFixed(1)).join(' / '),
              traces.map((trace) => (trace.deltaAt[0]! - trace.startedAt).toFixed(1)).join(' / '),
              `${rawRun.classifyMs.toFixed(1)} + ${rawRun.timeToFirstTokenMs.toFixed(1)}`,
              [...traces.map(apiTimeToFirstToken), rawTimeToFirstToken(rawRun)].map((ms) => ms.toFixed(1)).join(' / '),
            ];
          }),
        },
      ],
      notes: [
        'The service runs as its own process (`node --import tsx src/main.ts`: the real configuration path, with ' +
          'metrics and logging); the raw baseline runs in the benchmark process on the same model file, thread count and ' +
          'context shape, sampling with the same settings and seed. They take turns, never overlapping, in an order that ' +
          'rotates from run to run.',
        'API time to first token runs from subscribing to the first `ChatToken` and so includes what a chat turn does ' +
          'before generating: classify the message, store it, send `ChatStarted`. The raw baseline does the same model ' +
          'work directly: the sentiment call on a warm prefix (same tokens, same label read), then the chat prompt to the first ' +
          'token that completes some text (what the engine can send; a token may end inside a multi-byte character). ' +
          'The difference is the API\'s own cost: GraphQL, SQLite writes, scheduling, prompt chunking and the transport.',
        'Every path starts from the same cache state: its sentiment sequence holds an unrelated short text, its chat ' +
          'sequence the previous run\'s conversation (so each reuses the system prompt\'s common prefix and evaluates the rest).',
        'A client counts text deltas: a delta is one token unless a token ends inside a multi-byte character, so when ' +
          'deltas < reply tokens the client-side rate slightly undercounts. English and Chinese sentences alternate; one ' +
          'warm-up run precedes the measured ones.',
        'The engine starts each llama.cpp decode as soon as it is queued (node-llama-cpp\'s default waits for the next ' +
          'event-loop turn, i.e. until the previous token\'s GraphQL and socket work is done): with the default this ' +
          'benchmark measured 0.94–0.965 of the raw decode rate; with the change about 0.99. Two more engine changes ' +
          'shorten the time to first token: the prompt\'s last chunk is evaluated in the same decode that samples the ' +
          'first token (before, the last prompt token had a decode of its own), and a remainder of up to a quarter chunk ' +
          'joins the last prompt chunk instead of paying for a decode of its own (each decode reads all the weights).',
      ],
    };
  },
};

/** Runs the three paths for each message, in rotating order, and keeps what they measured. */
class Rounds {
  readonly #service: ServiceProcess;
  readonly #raw: RawContext;
  readonly #rawSequences: Record<'chat' | Locale, LlamaContextSequence>;
  readonly #labels: Map<string, SentimentLabel>;
  readonly #log: (message: string) => void;
  #runs = 0;

  constructor(service: ServiceProcess, raw: RawContext, labels: Map<string, SentimentLabel>, log: (message: string) => void) {
    this.#service = service;
    this.#raw = raw;
    this.#rawSequences = { chat: raw.context.getSequence(), zh: raw.context.getSequence(), en: raw.context.getSequence() };
    this.#labels = labels;
    this.#log = log;
  }

  async run(messages: Sentence[], maxTokens: number): Promise<Round> {
    const round: Round = { traces: { 'graphql-ws': [], SSE: [] }, raw: [] };
    for (const { text, locale } of messages) {
      const seed = this.#runs;
      const order = rotate(PATHS, this.#runs++);
      const input = { message: text, locale, maxTokens, temperature: 0.7, seed };
      for (const name of order) {
        if (name === 'raw') {
          const rawModel = this.#raw.model;
          await rawClassify(rawModel, this.#rawSequences[locale], FLUSH_TEXT[locale], locale);
          await settle();
          const classified = await rawClassify(rawModel, this.#rawSequences[locale], text, locale);
          const prompt = chatPromptTokens(rawModel, { message: text, locale, userSentiment: this.#labels.get(text)! });
          round.raw.push({ ...(await rawGenerate(rawModel, this.#rawSequences.chat, prompt, { maxTokens, seed })), classifyMs: classified.ms });
        } else {
          await sentimentQuery(this.#service.url, FLUSH_TEXT[locale], locale);
          await settle();
          round.traces[name].push(
            name === 'SSE' ? await chatOverSse(this.#service.url, input) : await chatOverWebSocket(this.#service.wsUrl, input),
          );
        }
      }
      const [ws, sse] = TRANSPORTS.map((transport) => round.traces[transport].at(-1)!);
      const rawRun = round.raw.at(-1)!;
      const rates = [clientTokensPerSecond(ws!), clientTokensPerSecond(sse!), tokensPerSecond(rawRun.tokenAt)];
      const firstTokens = [apiTimeToFirstToken(ws!), apiTimeToFirstToken(sse!), rawTimeToFirstToken(rawRun)];
      this.#log(
        `streaming (${maxTokens} tokens; ${order.join(', ')}): ws/sse/raw ` +
          (maxTokens > 1 ? `${rates.map((rate) => rate.toFixed(1)).join('/')} tok/s, ` : '') +
          `TTFT ${firstTokens.map((ms) => ms.toFixed(0)).join('/')} ms`,
      );
    }
    return round;
  }
}

/** Each message's label sets the tone line of its chat system prompt, which the raw path must reproduce. */
async function labelsOf(service: ServiceProcess, messages: Sentence[]): Promise<Map<string, SentimentLabel>> {
  const labels = new Map<string, SentimentLabel>();
  for (const { text, locale } of messages) {
    const answer = await sentimentQuery(service.url, text, locale);
    labels.set(text, answer.data.sentiment.label.toLowerCase() as SentimentLabel);
  }
  return labels;
}

function apiTimeToFirstToken(trace: StreamTrace): number {
  return (trace.deltaAt[0] ?? Number.NaN) - trace.subscribedAt;
}

function rawTimeToFirstToken(run: RawTurn): number {
  return run.classifyMs + run.timeToFirstTokenMs;
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

if (isMainModule(import.meta.url)) await runStandalone(streaming);
