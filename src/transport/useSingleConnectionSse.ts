// A Yoga plugin: GraphQL over SSE's "single connection" mode (graphql-sse's client with singleConnection: true).
import { getOperationAST, type ExecutionResult } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { withErrorCode } from '../schema/errors.js';
import { withoutHttpExtensions } from './withoutHttpExtensions.js';

/** The reserved stream's token; EventSource, which sets no headers, sends it as `?token=` instead. */
const TOKEN_HEADER = 'x-graphql-event-stream-token';

/**
 * Single-connection mode reserves a stream with PUT, listens on it with GET, sends operations with POST and stops
 * them with DELETE, each carrying the stream's token. Only those requests go to graphql-sse's handler, on the same
 * endpoint: a request without a token stays Yoga's, so "distinct connections" mode (EventSource, the web page's
 * fallback) and plain GraphQL over HTTP work exactly as before.
 *
 * Operations run through Yoga's pipeline (plugins, masking, context), like graphql-ws's. Not through
 * `@graphql-yoga/plugin-graphql-sse`: it throws on a syntax error and hands validation errors back in a shape
 * graphql-sse's handler takes for arguments (400 "Unable to detect operation AST", no code).
 */
export function useSingleConnectionSse(endpoint: string): Plugin {
  let handler: ((request: Request) => Promise<Response>) | undefined;
  const serverContexts = new WeakMap<Request, object>();
  return {
    onYogaInit({ yoga }) {
      handler = createHandler(
        {
          onSubscribe: async (req, params) => {
            const enveloped = yoga.getEnveloped({ ...serverContexts.get(req.raw), request: req.raw, params });
            let document: ReturnType<typeof enveloped.parse>;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              return { data: null, errors: [withErrorCode(error, 'GRAPHQL_PARSE_FAILED')] };
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) {
              const coded = errors.map((error: unknown) => withErrorCode(error, 'GRAPHQL_VALIDATION_FAILED'));
              return { data: null, errors: coded };
            }
            const args = {
              schema: enveloped.schema,
              document,
              contextValue: await enveloped.contextFactory(),
              variableValues: params.variables ?? null,
              operationName: params.operationName ?? null,
            };
            const kind = getOperationAST(document, params.operationName)?.operation;
            const run = kind === 'subscription' ? enveloped.subscribe : enveloped.execute;
            const result: unknown = await run(args);
            // graphql-sse tells a result from arguments by its `data` key, which a refusal (`{ errors }`) lacks.
            if (isAsyncIterable(result)) return result as AsyncIterable<ExecutionResult>;
            return { data: null, ...(result as ExecutionResult) };
          },
          // An event on the stream has no status line of its own (ENGINE_BUSY's status and Retry-After are HTTP's).
          onNext: (_ctx, _req, result) =>
            withoutHttpExtensions(result as ExecutionResult) as ExecutionResult | undefined,
        },
        yoga.fetchAPI,
      );
    },
    onRequest({ request, url, serverContext, endResponse }) {
      if (url.pathname !== endpoint || !handler || !isSingleConnection(request, url)) return;
      serverContexts.set(request, serverContext);
      return handler(request).then(endResponse);
    },
  };
}

function isSingleConnection(request: Request, url: URL): boolean {
  if (request.method === 'PUT' || request.method === 'DELETE') return true;
  return request.headers.has(TOKEN_HEADER) || url.searchParams.has('token');
}
