// The HTTP server: GraphQL over HTTP and SSE (Yoga) and graphql-ws on one port, plus health probes, results files and the web page.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { HttpConfig } from './config.js';
import { forwardAbort } from './forwardAbort.js';
import { RequestRefusedError } from './http/errors.js';
import { createOriginPolicy } from './http/originPolicy.js';
import { createJobResultsRoute } from './http/jobResults.js';
import { createPlaygroundPage } from './http/playgroundPage.js';
import { normalizeRequestTarget } from './http/requestTarget.js';
import { corsOptionsOf, useOriginPolicy } from './http/useOriginPolicy.js';
import { useRequestParseErrors } from './http/useRequestParseErrors.js';
import { createWebPage } from './http/webPage.js';
import { refuseOversizedBody } from './limits/refuseOversizedBody.js';
import { useGraphQLLimits } from './limits/useGraphQLLimits.js';
import { useOperationScopes } from './limits/useOperationScopes.js';
import { useSubscriptionLimits } from './limits/useSubscriptionLimits.js';
import type { Logger } from './logger.js';
import type { Metrics } from './observability/metrics.js';
import { createMetricsRoute } from './observability/metricsRoute.js';
import { REQUEST_ID_HEADER, requestIdOf } from './observability/requestId.js';
import { useObservability } from './observability/useObservability.js';
import type { GraphQLContext } from './schema/context.js';
import { describeError, errorResponseBody, maskError, UNEXPECTED_ERROR_MESSAGE, withErrorCode } from './schema/errors.js';
import { schema } from './schema/index.js';
import { createApiKeyring } from './security/apiKeys.js';
import { acceptsConnection, ownerOfOperation, useApiKeyAuth } from './security/useApiKeyAuth.js';
import type { Services } from './service/createServices.js';
import { handleWebSocketUpgrade } from './transport/handleWebSocketUpgrade.js';
import { limitConnections } from './transport/limitConnections.js';
import { useMultipartSubscriptions } from './transport/useMultipartSubscriptions.js';
import { useSingleConnectionSse } from './transport/useSingleConnectionSse.js';
import { withoutHttpExtensions } from './transport/withoutHttpExtensions.js';

export interface AppOptions {
  services: Services;
  /** Limits, auth and other settings of the HTTP/WebSocket surface. */
  config: HttpConfig;
  logger: Logger;
  /** Served at `GET /metrics` and fed by every operation; without it there is no `/metrics` route. */
  metrics?: Metrics;
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
/** RFC 6455's "Try Again Later": graphql-ws clients retry it with backoff, unlike 4403, which asks for a key. */
const TRY_AGAIN_LATER = 1013;
const NEVER_ABORTED = new AbortController().signal;

export function createApp(options: AppOptions): App {
  const { services, config } = options;
  const keyring = createApiKeyring(config.apiKeys);
  const originPolicy = createOriginPolicy({
    listenHost: config.host,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
  });
  let accepting = true;
  /** Aborted when a WebSocket closes, so queries and mutations sent over it stop their engine jobs too. */
  const socketSignals = new WeakMap<object, AbortController>();

  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // The playground page is served before Yoga (createPlaygroundPage): built once, compressed, revalidated.
    graphiql: false,
    maskedErrors: { maskError, errorMessage: UNEXPECTED_ERROR_MESSAGE },
    cors: corsOptionsOf(originPolicy),
    // No file uploads here; a multipart body is refused by the origin policy before it would be parsed.
    multipart: false,
    context: ({ request, socket, connectionParams }: OperationSource) => {
      const owner = ownerOfOperation(keyring, { request, connectionParams });
      const clientSignal = request
        ? realSignalOf(request.signal)
        : ((socket ? socketSignals.get(socket)?.signal : undefined) ?? NEVER_ABORTED);
      return { services, owner, operation: services.operations.begin(owner, clientSignal) };
    },
    logging: false,
    plugins: [
      useObservability({ logger: options.logger, metrics: options.metrics, describeError }),
      useOriginPolicy({ policy: originPolicy }),
      useRequestParseErrors(),
      useApiKeyAuth({ keyring }),
      ...useGraphQLLimits(config.limits),
      useSubscriptionLimits(config.limits),
      useOperationScopes(),
      useSingleConnectionSse(GRAPHQL_PATH),
      useMultipartSubscriptions(),
    ],
  });

  const webPage = createWebPage();
  // GraphiQL's page holds no data (its requests need a key like any other) and any site may link to it.
  const playgroundPage = config.playground
    ? createPlaygroundPage({
        path: GRAPHQL_PATH,
        // Imported on the first request for the page: its 9 MB module would cost every start ~80 ms to load.
        render: async () => {
          const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
          return renderGraphiQL({ subscriptionsProtocol: 'WS', title: 'All-in-One' });
        },
      })
    : undefined;
  // With METRICS_AUTH a scraper sends a key like any client: `Authorization: Bearer <key>`.
  const authorize = (req: IncomingMessage) =>
    !config.metricsAuth || keyring.ownerOf(req.headers.authorization) !== undefined;
  const metricsRoute = options.metrics ? createMetricsRoute({ metrics: options.metrics, authorize }) : undefined;
  const jobResultsRoute = createJobResultsRoute({
    results: services.jobResults,
    keyring,
    policy: originPolicy,
    logger: options.logger,
  });
  // A probe that fails unexpectedly still answers (not ready), never leaves the balancer's check hanging.
  const answerReadiness = async (res: ServerResponse): Promise<void> => {
    const reason = accepting ? await services.health.notReadyReason().catch(() => 'the readiness check failed') : 'shutting down';
    // Shutdown may have begun while the database answered.
    const final = accepting ? reason : 'shutting down';
    sendJson(res, final ? 503 : 200, final ? { status: 'not ready', reason: final } : { status: 'ready' });
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req.headers);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const badTarget = normalizeRequestTarget(req);
    if (badTarget) {
      res.setHeader('connection', 'close');
      return sendJson(res, 400, errorResponseBody(badTarget));
    }
    // Every route, probes included: a page whose DNS name was rebound to this address reads nothing.
    if (!originPolicy.hostAllowed(req.headers.host)) {
      const refusal = originPolicy.originRefusal({ host: req.headers.host, origin: undefined, fetchSite: undefined })!;
      return sendJson(res, refusal.status, errorResponseBody(new RequestRefusedError(refusal)));
    }
    if (metricsRoute?.(req, res)) return;
    if (req.url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.url === '/readyz') return void answerReadiness(res);
    if (jobResultsRoute(req, res)) return;
    if (webPage(req, res)) return;
    if (playgroundPage?.(req, res)) return;
    if (refuseOversizedBody(req, res, config.limits.maxBodyBytes)) return;
    return yoga(req, res, { requestId });
  });

  const admission = limitConnections(server, {
    limits: config.connections,
    initTimeoutMs: config.limits.wsInitTimeoutMs,
    metrics: options.metrics,
  });
  const webSockets = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxBodyBytes });
  server.on(
    'upgrade',
    handleWebSocketUpgrade({
      webSockets,
      path: GRAPHQL_PATH,
      logger: options.logger,
      policy: originPolicy,
      admission,
      onRefused: (error) => options.metrics?.recordWebSocketRefused(error.scope),
    }),
  );
  useServer(
    {
      // Never put an internal error's message in a close reason.
      isProd: true,
      connectionInitWaitTimeout: config.limits.wsInitTimeoutMs,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: (ctx) => {
        if (!accepting) {
          // Going away, not forbidden: a client told 4403 would wrongly ask its user for a key.
          ctx.extra.socket.close(GOING_AWAY, 'Server shutting down');
          return false;
        }
        if (!acceptsConnection(keyring, ctx.connectionParams)) return false;
        const owner = keyring.ownerOf(ctx.connectionParams?.['authorization']) ?? null;
        const overCap = admission.initialize(ctx.extra.request, owner);
        if (overCap) {
          options.metrics?.recordWebSocketRefused(overCap.scope);
          ctx.extra.socket.close(TRY_AGAIN_LATER, overCap.message);
          return false;
        }
        socketSignals.set(ctx.extra.socket, new AbortController());
        ctx.extra.socket.once('close', () => socketSignals.get(ctx.extra.socket)?.abort());
        return true;
      },
      // extensions.http (a status and Retry-After for HTTP) is Yoga's to apply; a socket message has no status line.
      onNext: (_ctx, _id, _payload, _args, result) => withoutHttpExtensions(result),
      onSubscribe: async (ctx, _id, payload) => {
        // One execution pipeline for every transport: the same plugins, masking and context factory as HTTP.
        const {
          schema: envelopedSchema,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document: ReturnType<typeof parse>;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [withErrorCode(error, 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(envelopedSchema, document);
        if (errors.length > 0) return errors.map((error: unknown) => withErrorCode(error, 'GRAPHQL_VALIDATION_FAILED'));
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
/** HTTP operations come with their request; graphql-ws operations with their socket and `connection_init` payload. */
type OperationSource = { request?: Request; socket?: object; connectionParams?: Record<string, unknown> };
type EnvelopedRoot = Pick<Enveloped, 'execute' | 'subscribe'>;

/**
 * Yoga's Node adapter hands each request a look-alike signal (a Proxy); Node 24.22 and later refuse such objects
 * in `AbortSignal.any` and friends. Resolvers get a real one that follows it.
 */
function realSignalOf(signal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  forwardAbort(signal, controller);
  return controller.signal;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
