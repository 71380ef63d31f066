// A Yoga plugin: subscriptions over HTTP multipart, as Apollo Client's HttpLink asks for them (no WebSocket, no SSE).
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { UNEXPECTED_ERROR_MESSAGE } from '../schema/errors.js';
import { withoutHttpExtensions } from './withoutHttpExtensions.js';

/** Apollo's protocol: https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol */
const SUBSCRIPTION_SPEC = /^multipart\/mixed\s*;.*subscriptionSpec\s*=\s*"?1\.0"?/i;
const BOUNDARY = 'graphql';
const PART_HEADER = `\r\n--${BOUNDARY}\r\ncontent-type: application/json; charset=utf-8\r\n\r\n`;
const LAST_BOUNDARY = `\r\n--${BOUNDARY}--\r\n`;
/** Apollo's protocol sends an empty part (`{}`, which its client skips) this often, so proxies see a live stream. */
const HEARTBEAT_MS = 5_000;

export interface MultipartSubscriptionsOptions {
  /** Milliseconds between heartbeat parts while a stream is open. */
  heartbeatMs?: number;
}

/** Yoga's own type, which its package does not export. */
type ResultProcessor = Parameters<Parameters<NonNullable<Plugin['onResultProcess']>>[0]['setResultProcessor']>[0];

/**
 * Yoga streams a subscription only as SSE and answers Apollo's `multipart/mixed;subscriptionSpec=1.0` with an empty
 * 406. This writes each event as one part, `{"payload": <result>}`, and ends with the closing boundary; a stream
 * that breaks ends with a transport-level error (`payload: null`), masked like any unexpected error. While the
 * stream is open (a reply waiting in the queue), a heartbeat part goes out every `heartbeatMs`.
 */
export function useMultipartSubscriptions({ heartbeatMs = HEARTBEAT_MS }: MultipartSubscriptionsOptions = {}): Plugin {
  const processResult = apolloMultipartProcessor(heartbeatMs);
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (!isAsyncIterable(result) || !acceptsApolloSubscriptions(request)) return;
      setResultProcessor(processResult, 'multipart/mixed');
    },
  };
}

function acceptsApolloSubscriptions(request: Request): boolean {
  const accept = request.headers.get('accept') ?? '';
  return accept.split(',').some((mediaType) => SUBSCRIPTION_SPEC.test(mediaType.trim()));
}

const apolloMultipartProcessor = (heartbeatMs: number): ResultProcessor => (result, fetchAPI) => {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const part = (body: unknown) => encoder.encode(PART_HEADER + JSON.stringify(body));
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const end = (controller: ReadableStreamDefaultController<Uint8Array>, last?: unknown) => {
    clearInterval(heartbeat);
    if (last !== undefined) controller.enqueue(part(last));
    controller.enqueue(encoder.encode(LAST_BOUNDARY));
    controller.close();
  };
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      heartbeat = setInterval(() => controller.enqueue(part({})), heartbeatMs);
    },
    async pull(controller) {
      try {
        const { done, value } = await iterator.next();
        if (done) return end(controller);
        const event = value as ExecutionResult;
        controller.enqueue(part({ payload: withoutHttpExtensions(event) ?? event }));
      } catch {
        end(controller, { payload: null, errors: [{ message: UNEXPECTED_ERROR_MESSAGE }] });
      }
    },
    async cancel() {
      clearInterval(heartbeat);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: {
      'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
      'cache-control': 'no-cache',
    },
  });
};
