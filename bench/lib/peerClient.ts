// Loopback client of llama-server: the service's exact prompts as tokens, streamed completions timed, labels read.
import { Agent, request, type IncomingMessage } from 'node:http';
import { SAMPLING_DEFAULTS, SENTIMENT_LABELS, type Locale, type SentimentLabel } from '../../src/engine/index.js';
import { ASSISTANT_REPLY_LEAD, chatSystemPrompt, chatTurnPrompt, type PromptPart } from '../../src/engine/prompts.js';
import { SENTIMENT_DEFINITION } from '../../src/engine/tasks/builtinTasks.js';
import { classifierTaskOf } from '../../src/engine/tasks/taskPrompts.js';

/** Sentiment's prompts and scored spellings, as the engine's classifier builds them from the one definition. */
const SENTIMENT_PROMPTS = classifierTaskOf(SENTIMENT_DEFINITION).prompts;

/** The reply's steering line for a sentiment label (none for neutral), from the same definition. */
function toneLine(locale: Locale, label: SentimentLabel): string {
  return SENTIMENT_DEFINITION.labels.find((item) => item.name === label)?.steer?.[locale] ?? '';
}

/** The engine's repeat-penalty window (generateReply) and node-llama-cpp's default top-k. */
const REPEAT_LAST_N = 64;
const TOP_K = 40;
/** Large enough that the label tokens are the only candidates, as the engine's classifier lifts them. */
const LABEL_BIAS = 1000;
/**
 * A connection per request: llama-server (cpp-httplib) closes a kept-alive connection after 100 requests or 5 s
 * idle, and a POST sent as it closes fails (fetch does not retry it). On loopback a connection costs well under 1 ms.
 */
const NO_KEEP_ALIVE = new Agent({ keepAlive: false });

/**
 * A prompt as llama-server takes it: our own (trusted) parts as token ids, tokenized with control tokens honoured,
 * and each user text as a string that the server tokenizes on its own, as the engine tokenizes part by part.
 */
type PeerPrompt = (number | string)[];

/** Arrival times (performance.now()) of one streamed completion, as the client saw them. */
export interface PeerTrace {
  sentAt: number;
  /** The first event that carries text. */
  firstTokenAt: number;
  /** Per event that carries text: its time and the tokens decoded so far. */
  eventAt: number[];
  decodedAt: number[];
  doneAt: number;
  tokens: number;
  promptTokens: number;
  cachedTokens: number;
}

export class PeerClient {
  readonly #url: string;
  /** Token ids of our own prompt texts; the same model file in every peer process, so shared across them. */
  readonly #tokens: Map<string, number[]>;

  constructor(url: string, tokenCache: Map<string, number[]>) {
    this.#url = url;
    this.#tokens = tokenCache;
  }

  /** The engine's chat prompt for a new conversation: system prompt with the message's tone, the message, the lead. */
  async chatPrompt(message: string, locale: Locale, label: SentimentLabel): Promise<PeerPrompt> {
    return this.#prompt([
      ...chatSystemPrompt(locale, [toneLine(locale, label)]),
      ...chatTurnPrompt({ role: 'user', content: message }),
      ...ASSISTANT_REPLY_LEAD,
    ]);
  }

  /**
   * A streamed completion of exactly `tokens` tokens (end of generation ignored), sampled as the service samples;
   * `onText` hears the count of text events so far after each.
   */
  async complete(prompt: PeerPrompt, tokens: number, seed: number, onText?: (events: number) => void): Promise<PeerTrace> {
    const sentAt = performance.now();
    const response = await post(`${this.#url}/completion`, {
      prompt,
      n_predict: tokens,
      ignore_eos: true,
      stream: true,
      cache_prompt: true,
      temperature: SAMPLING_DEFAULTS.temperature,
      top_p: SAMPLING_DEFAULTS.topP,
      top_k: TOP_K,
      min_p: 0,
      repeat_penalty: SAMPLING_DEFAULTS.repeatPenalty,
      repeat_last_n: REPEAT_LAST_N,
      seed,
    });
    if (response.statusCode !== 200) throw new Error(`llama-server /completion: HTTP ${response.statusCode} ${await readBody(response)}`);
    const eventAt: number[] = [];
    const decodedAt: number[] = [];
    let final: Record<string, any> | undefined;
    for await (const event of readEvents(response)) {
      const now = performance.now();
      if (typeof event['content'] === 'string' && event['content'] !== '') {
        eventAt.push(now);
        decodedAt.push(Number(event['tokens_predicted']));
        onText?.(eventAt.length);
      }
      if (event['stop'] === true) final = { ...event, doneAt: now };
    }
    if (!final || eventAt.length === 0) throw new Error('llama-server ended the stream without text and a final event.');
    return {
      sentAt,
      firstTokenAt: eventAt[0]!,
      eventAt,
      decodedAt,
      doneAt: final['doneAt'] as number,
      tokens: Number(final['tokens_predicted']),
      promptTokens: Number(final['tokens_evaluated']),
      cachedTokens: Number(final['tokens_cached'] ?? 0),
    };
  }

  /**
   * The engine's sentiment call: the constant prefix (cached in the slot), the text, one decode whose label tokens
   * are lifted by a logit bias and read from the probabilities after sampling (top-k = the label tokens).
   */
  async classify(text: string, locale: Locale): Promise<SentimentLabel> {
    const labels = await this.#labelTokens(locale);
    const ids = [...new Set(labels.map(([, token]) => token))];
    const response = await post(`${this.#url}/completion`, {
      prompt: await this.#prompt([
        ...SENTIMENT_PROMPTS[locale].prefix,
        { text, trusted: false },
        ...SENTIMENT_PROMPTS[locale].suffix,
      ]),
      n_predict: 1,
      cache_prompt: true,
      n_probs: ids.length,
      post_sampling_probs: true,
      logit_bias: ids.map((token) => [token, LABEL_BIAS]),
      top_k: ids.length,
      top_p: 1,
      min_p: 0,
      temperature: 1,
      seed: 0,
      return_tokens: true,
    });
    const body = JSON.parse(await readBody(response)) as {
      completion_probabilities?: { top_probs?: { id: number; prob: number }[] }[];
      tokens?: number[];
    };
    // llama-server reports no probabilities for a token that ends inside a multi-byte character (the tiny model
    // spells Chinese labels in bytes): the label sampled from the same distribution stands in.
    const read = body.completion_probabilities?.[0]?.top_probs ?? body.tokens?.slice(0, 1).map((id) => ({ id, prob: 1 }));
    if (response.statusCode !== 200 || !read?.length) throw new Error(`llama-server gave no label: ${JSON.stringify(body).slice(0, 300)}`);
    const score = (label: SentimentLabel) =>
      labels.filter(([of]) => of === label).reduce((sum, [, token]) => sum + (read.find((item) => item.id === token)?.prob ?? 0), 0);
    const ranked = SENTIMENT_LABELS.map((label) => ({ label, score: score(label) }));
    return ranked.reduce((best, item) => (item.score > best.score ? item : best)).label;
  }

  /** The first token of every spelling of every label, as the engine's classifier reads them. */
  async #labelTokens(locale: Locale): Promise<[SentimentLabel, number][]> {
    const pairs: [SentimentLabel, number][] = [];
    for (const [label, spellings] of Object.entries(SENTIMENT_PROMPTS[locale].spellings) as [SentimentLabel, readonly string[]][]) {
      for (const spelling of spellings) pairs.push([label, (await this.#tokenize(spelling, false))[0]!]);
    }
    return pairs;
  }

  async #prompt(parts: readonly PromptPart[]): Promise<PeerPrompt> {
    const prompt: PeerPrompt = [];
    for (const part of parts) {
      if (part.text.length === 0) continue;
      if (part.trusted) prompt.push(...(await this.#tokenize(part.text, true)));
      else prompt.push(part.text);
    }
    return prompt;
  }

  async #tokenize(text: string, special: boolean): Promise<number[]> {
    const key = `${special ? 's' : 'p'}:${text}`;
    const cached = this.#tokens.get(key);
    if (cached) return cached;
    const response = await post(`${this.#url}/tokenize`, { content: text, add_special: false, parse_special: special });
    const body = JSON.parse(await readBody(response)) as { tokens?: number[] };
    if (response.statusCode !== 200 || !body.tokens) throw new Error(`llama-server /tokenize: HTTP ${response.statusCode}`);
    this.#tokens.set(key, body.tokens);
    return body.tokens;
  }
}

/** Tokens after the first over the time after the first (the client's view of the decode rate, as for the service). */
export function peerTokensPerSecond(trace: PeerTrace): number {
  const first = trace.eventAt[0];
  const last = trace.eventAt.at(-1);
  if (first === undefined || last === undefined || last <= first) return Number.NaN;
  return ((trace.decodedAt.at(-1)! - trace.decodedAt[0]!) * 1000) / (last - first);
}

/** POSTs JSON on a connection of its own; resolves with the response as soon as its headers arrive. */
function post(url: string, body: unknown): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', agent: NO_KEEP_ALIVE, headers: { 'content-type': 'application/json' } }, resolve);
    sent.once('error', reject);
    sent.end(JSON.stringify(body));
  });
}

async function readBody(response: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of response.setEncoding('utf8')) body += chunk as string;
  return body;
}

/** The JSON of each `data:` line of a server-sent event stream; an `error:` line ends it with that error. */
async function* readEvents(response: IncomingMessage): AsyncGenerator<Record<string, any>> {
  let buffer = '';
  for await (const chunk of response.setEncoding('utf8')) {
    buffer += chunk as string;
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (line === 'data: [DONE]') return;
      if (line.startsWith('data: ')) yield JSON.parse(line.slice(6)) as Record<string, any>;
      else if (line.startsWith('error: ')) throw new Error(`llama-server stream error: ${line.slice(7)}`);
    }
  }
}
