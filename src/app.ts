// The HTTP server: GraphQL over HTTP and SSE (Yoga) and graphql-ws on one port, plus health and readiness probes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AppConfig } from './config.js';
import type { Logger } from './logger.js';
import type { GraphQLContext } from './schema/context.js';
import { maskError, UNEXPECTED_ERROR_MESSAGE } from './schema/errors.js';
import { schema } from './schema/index.js';
import type { Services } from './service/Services.js';

export interface AppOptions {
  services: Services;
  /** Limits, auth and other settings of the HTTP/WebSocket surface. */
  config: AppConfig;
  logger: Logger;
}

export interface App {
  readonly yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext>;
  /** Listens on `port` (0 picks a free one) and resolves with the bound address. */
  start(port: number, host: string): Promise<AddressInfo>;
  /** Fails readiness, closes WebSockets with 1001 (going away) and stops the HTTP server. */
  stop(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';
const GOING_AWAY = 1001;
const NEVER_ABORTED = new AbortController().signal;

export function createApp(options: AppOptions): App {
  const { services, config } = options;
  let accepting = true;
  /** Aborted when a WebSocket closes, so queries and mutations sent over it stop their engine jobs too. */
  const socketSignals = new WeakMap<object, AbortController>();

  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: config.playground ? { subscriptionsProtocol: 'WS', title: 'All-in-One' } : false,
    renderGraphiQL,
    maskedErrors: { maskError, errorMessage: UNEXPECTED_ERROR_MESSAGE },
    context: ({ request, socket }: { request?: Request; socket?: object }) => ({
      services,
      owner: null,
      signal: request?.signal ?? (socket ? socketSignals.get(socket)?.signal : undefined) ?? NEVER_ABORTED,
    }),
    logging: false,
  });

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.url === '/readyz') {
      const ready = accepting && services.ready;
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
    }
    return yoga(req, res);
  });

  const webSockets = new WebSocketServer({ server, path: GRAPHQL_PATH });
  useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: (ctx) => {
        socketSignals.set(ctx.extra.socket, new AbortController());
        ctx.extra.socket.once('close', () => socketSignals.get(ctx.extra.socket)?.abort());
        return accepting;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // One execution pipeline for every transport: the same plugins, masking and context factory as HTTP.
        const { schema: envelopedSchema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const document = parse(payload.query);
        const errors = validate(envelopedSchema, document);
        if (errors.length > 0) return errors;
        return {
          schema: envelopedSchema,
          operationName: payload.operationName ?? null,
          document,
          variableValues: payload.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
      },
    },
    webSockets,
  );

  return {
    yoga,
    start: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    stop: async () => {
      accepting = false;
      for (const client of webSockets.clients) client.close(GOING_AWAY, 'Server shutting down');
      await new Promise<void>((resolve) => webSockets.close(() => resolve()));
      server.closeIdleConnections();
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

type Enveloped = ReturnType<App['yoga']['getEnveloped']>;
type EnvelopedRoot = Pick<Enveloped, 'execute' | 'subscribe'>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
