// Loopback GraphQL clients that time what they receive: chatStream over graphql-ws and SSE, queries over HTTP.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Locale } from '../../src/engine/index.js';
import { readSseNextPayloads } from '../../test/support/readSseEvents.js';

export const CHAT_STREAM = `subscription ($input: ChatInput!) { chatStream(input: $input) {
  __typename
  ... on ChatStarted { conversation { id } userMessage { sentiment { label } } }
  ... on ChatToken { index text }
  ... on ChatDone { finishReason reply { content tokenCount } }
} }`;

export const SENTIMENT_QUERY = `query ($text: String!, $locale: Locale) {
  sentiment(text: $text, locale: $locale) { label confidence }
}`;

export interface ChatInput {
  message: string;
  locale: Locale;
  maxTokens: number;
  temperature?: number;
  seed?: number;
  conversationId?: string;
}

/** Arrival times (performance.now()) of one chatStream's events, as the client saw them. */
export interface StreamTrace {
  subscribedAt: number;
  startedAt: number;
  /** One entry per ChatToken event (a text delta: usually one token, occasionally several). */
  deltaAt: number[];
  doneAt: number;
  /** Tokens the reply has, as stored. */
  tokenCount: number;
  conversationId: string;
  /** The user message's sentiment, which set the reply's system prompt; null when no task ran (CHAT_TASKS=none). */
  sentimentLabel: string | null;
  reply: string;
}

type StreamEvent = { __typename: string; [key: string]: any };

/**
 * Runs one chatStream over its own graphql-ws connection, timed from the subscribe message on the open connection
 * (as for a client that keeps its socket); `onDelta` hears of every ChatToken as it arrives.
 */
export async function chatOverWebSocket(
  wsUrl: string,
  input: ChatInput,
  onDelta?: () => void,
  apiKey?: string,
): Promise<StreamTrace> {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    ...(apiKey ? { connectionParams: { authorization: `Bearer ${apiKey}` } } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const offConnected = client.on('connected', () => {
        offConnected();
        offError();
        resolve();
      });
      const offError = client.on('error', (error) => {
        offConnected();
        offError();
        reject(error instanceof Error ? error : new Error(`graphql-ws connection failed: ${String(error)}`));
      });
    });
    const recorder = new TraceRecorder();
    for await (const result of client.iterate({ query: CHAT_STREAM, variables: { input: toApiInput(input) } })) {
      if (result.errors) throw new Error(`chatStream failed: ${JSON.stringify(result.errors)}`);
      const event = result.data!['chatStream'] as StreamEvent;
      recorder.record(event);
      if (event.__typename === 'ChatToken') onDelta?.();
    }
    return recorder.trace();
  } finally {
    await client.dispose();
  }
}

/** Runs one chatStream over SSE (GraphQL over SSE, distinct connections mode); `onText` hears each text delta's count. */
export async function chatOverSse(httpUrl: string, input: ChatInput, onText?: (deltas: number) => void): Promise<StreamTrace> {
  const recorder = new TraceRecorder();
  const response = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: CHAT_STREAM, variables: { input: toApiInput(input) } }),
  });
  if (!response.ok || !response.body) throw new Error(`SSE request failed with HTTP ${response.status}`);
  for await (const payload of readSseNextPayloads(response)) {
    const { data, errors } = payload as { data?: { chatStream: StreamEvent }; errors?: unknown };
    if (errors || !data) throw new Error(`chatStream failed: ${JSON.stringify(errors)}`);
    recorder.record(data.chatStream);
    if (data.chatStream.__typename === 'ChatToken') onText?.(recorder.deltas);
  }
  return recorder.trace();
}

export interface TimedResponse<T> {
  data: T;
  ms: number;
}

/** POSTs a query and times it from send to parsed body. */
export async function postGraphQL<T = Record<string, any>>(
  httpUrl: string,
  query: string,
  variables: Record<string, unknown>,
  apiKey?: string,
): Promise<TimedResponse<T>> {
  const startedAt = performance.now();
  const response = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  const ms = performance.now() - startedAt;
  if (body.errors || !body.data) throw new Error(`Query failed: ${JSON.stringify(body.errors)}`);
  return { data: body.data, ms };
}

export interface SentimentAnswer {
  sentiment: { label: 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL'; confidence: number };
}

export function sentimentQuery(
  httpUrl: string,
  text: string,
  locale: Locale,
  apiKey?: string,
): Promise<TimedResponse<SentimentAnswer>> {
  return postGraphQL<SentimentAnswer>(httpUrl, SENTIMENT_QUERY, { text, locale: locale.toUpperCase() }, apiKey);
}

/** Decode rate seen by a client: deltas after the first, over the time from the first delta to the last. */
export function clientTokensPerSecond(trace: StreamTrace): number {
  const first = trace.deltaAt[0];
  const last = trace.deltaAt.at(-1);
  if (first === undefined || last === undefined || last <= first) return Number.NaN;
  // When every delta is one token (the usual case), deltas after the first are exactly the tokens decoded.
  return ((trace.deltaAt.length - 1) * 1000) / (last - first);
}

function toApiInput(input: ChatInput): Record<string, unknown> {
  return { ...input, locale: input.locale.toUpperCase() };
}

class TraceRecorder {
  readonly #subscribedAt = performance.now();
  #startedAt: number | undefined;
  readonly #deltaAt: number[] = [];
  #done: { at: number; tokenCount: number; reply: string } | undefined;
  #conversationId = '';
  #sentimentLabel: string | null = null;

  /** Text deltas so far. */
  get deltas(): number {
    return this.#deltaAt.length;
  }

  record(event: StreamEvent): void {
    const now = performance.now();
    if (event.__typename === 'ChatStarted') {
      this.#startedAt = now;
      this.#conversationId = event['conversation'].id as string;
      this.#sentimentLabel = (event['userMessage'].sentiment?.label as string | undefined) ?? null;
    } else if (event.__typename === 'ChatToken') {
      this.#deltaAt.push(now);
    } else if (event.__typename === 'ChatDone') {
      this.#done = { at: now, tokenCount: event['reply'].tokenCount as number, reply: event['reply'].content as string };
    }
  }

  trace(): StreamTrace {
    if (this.#startedAt === undefined || !this.#done) throw new Error('The stream ended without ChatStarted and ChatDone.');
    return {
      subscribedAt: this.#subscribedAt,
      startedAt: this.#startedAt,
      deltaAt: this.#deltaAt,
      doneAt: this.#done.at,
      tokenCount: this.#done.tokenCount,
      conversationId: this.#conversationId,
      sentimentLabel: this.#sentimentLabel,
      reply: this.#done.reply,
    };
  }
}
