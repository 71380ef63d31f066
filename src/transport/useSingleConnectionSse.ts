// A Yoga plugin: GraphQL over SSE's "single connection" mode (graphql-sse's client with singleConnection: true).
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import type { Plugin } from 'graphql-yoga';

/** graphql-sse sends the reserved stream's token in this header, or (EventSource, which sets no headers) as `?token=`. */
const TOKEN_HEADER = 'x-graphql-event-stream-token';

/**
 * Single-connection mode reserves a stream with PUT, listens on it with GET, sends operations with POST and stops
 * them with DELETE, each carrying the stream's token. Only those requests go to graphql-sse's handler, on the same
 * endpoint: a request without a token stays Yoga's, so "distinct connections" mode (EventSource, the web page's
 * fallback) and plain GraphQL over HTTP work exactly as before. Operations run through Yoga's pipeline.
 */
export function useSingleConnectionSse(endpoint: string): Plugin {
  const plugin = useGraphQLSSE({ endpoint });
  return {
    ...plugin,
    onRequest(payload) {
      if (new URL(payload.request.url).pathname !== endpoint || !isSingleConnection(payload.request)) return;
      return plugin.onRequest?.(payload);
    },
  };
}

function isSingleConnection(request: Request): boolean {
  if (request.method === 'PUT' || request.method === 'DELETE') return true;
  return request.headers.has(TOKEN_HEADER) || new URL(request.url).searchParams.has('token');
}
