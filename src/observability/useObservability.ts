// An envelop plugin: each GraphQL operation (HTTP, SSE, WebSocket) gets a request id, a log line at its end, metrics.
import { randomUUID } from 'node:crypto';
import { getOperationAST, type DocumentNode, type GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { Metrics, OperationFinished, OperationType } from './metrics.js';

export interface DescribedError {
  /** The code clients see in `extensions.code`. */
  code: string;
  /** Masked as `Unexpected error.`: the operator needs the original, so it is logged at error level. */
  unexpected: boolean;
  /** An expected server condition whose original message clients did not see (a database fault): logged at warn. */
  detail?: string;
}

export interface ObservabilityOptions {
  logger: Logger;
  /** Where operation counts go; without it only the log line is written. */
  metrics?: Metrics;
  /** The public code of an error raised by a resolver or a subscription (the schema's one error mapping). */
  describeError: (error: unknown) => DescribedError;
}

/** Context fields this plugin reads: the HTTP server's request id, and what tells the transports apart. */
interface ObservedContext {
  requestId?: unknown;
  request?: Request;
  socket?: unknown;
  params?: { operationName?: string | null };
}

interface OperationState {
  requestId: string;
  transport: 'http' | 'sse' | 'ws';
  startedAt: number;
  finished: boolean;
}

const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';
const HTTP_ERROR = 400;
/** What is known of an operation whose document never parsed. */
const UNPARSED = { operationName: 'unknown', operationType: 'unknown' } as const satisfies Partial<OperationFinished>;

export function useObservability(options: ObservabilityOptions): Plugin {
  const { logger, metrics, describeError } = options;
  const operations = new WeakMap<object, OperationState>();
  /** HTTP requests to the GraphQL endpoint, until they reach an operation (then `operations` takes over). */
  const requests = new WeakMap<Request, { startedAt: number; enveloped: boolean }>();
  let graphqlEndpoint: string | undefined;

  type Reported = Pick<OperationState, 'requestId' | 'transport'>;
  const report = (state: Reported, event: OperationFinished, unexpected: unknown[], details: string[] = []): void => {
    metrics?.recordOperation(event);
    // Names, codes and timings only: never variables, message texts or credentials.
    logger.info(
      { requestId: state.requestId, transport: state.transport, ...event, durationMs: Math.round(event.durationMs) },
      'graphql operation',
    );
    for (const error of unexpected) {
      logger.error({ requestId: state.requestId, err: originalOf(error) }, 'unexpected error');
    }
    for (const detail of details)
      logger.warn({ requestId: state.requestId, outcome: event.outcome, detail }, 'server condition');
  };
  const finish = (
    context: object,
    document: DocumentNode | undefined,
    outcome: string,
    unexpected: unknown[] = [],
    details: string[] = [],
  ) => {
    const state = operations.get(context);
    if (!state || state.finished) return;
    state.finished = true;
    const operation = operationOf(document, (context as ObservedContext).params?.operationName);
    report(state, { ...operation, outcome, durationMs: performance.now() - state.startedAt }, unexpected, details);
  };
  /** The outcome is the first error's code; every unexpected error is logged. */
  const finishWith = (context: object, document: DocumentNode, errors: readonly unknown[]): void => {
    const described = errors.map(describeError);
    const unexpected = errors.filter((_, index) => described[index]!.unexpected);
    const details = described.flatMap((item) => (item.detail === undefined ? [] : [item.detail]));
    finish(context, document, described[0]?.code ?? 'ok', unexpected, details);
  };

  return {
    onYogaInit({ yoga }) {
      graphqlEndpoint = yoga.graphqlEndpoint;
    },
    onRequest({ request, url }) {
      if (url.pathname === graphqlEndpoint) requests.set(request, { startedAt: performance.now(), enveloped: false });
    },
    // Refused before any operation ran (no API key, a body that is not GraphQL): counted by HTTP status.
    onResponse({ request, response, serverContext }) {
      const pending = requests.get(request);
      if (!pending || pending.enveloped || response.status < HTTP_ERROR) return;
      const durationMs = performance.now() - pending.startedAt;
      const event: OperationFinished = { ...UNPARSED, outcome: `HTTP_${response.status}`, durationMs };
      report({ requestId: requestIdIn(serverContext as ObservedContext), transport: 'http' }, event, []);
    },
    onEnveloped({ context }) {
      if (!context) return;
      const observed = context as ObservedContext;
      const pending = observed.request ? requests.get(observed.request) : undefined;
      if (pending) pending.enveloped = true;
      const startedAt = pending?.startedAt ?? performance.now();
      const transport = transportOf(observed);
      operations.set(context, { requestId: requestIdIn(observed), transport, startedAt, finished: false });
    },
    onParse() {
      return ({ context, result }) => {
        if (result instanceof Error) finish(context, undefined, PARSE_FAILED);
      };
    },
    onValidate({ params }) {
      return ({ context, valid }) => {
        if (!valid) finish(context, params.documentAST, VALIDATION_FAILED);
      };
    },
    onExecute({ args }) {
      const done = (errors: readonly unknown[]): void => finishWith(args.contextValue as object, args.document, errors);
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) return done(result.errors ?? []);
          const errors: GraphQLError[] = [];
          return {
            onNext: ({ result: next }) => void errors.push(...(next.errors ?? [])),
            onEnd: () => done(errors),
          };
        },
      };
    },
    onSubscribe({ args }) {
      const done = (errors: readonly unknown[]): void => finishWith(args.contextValue as object, args.document, errors);
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return done(result.errors ?? []);
          const errors: GraphQLError[] = [];
          return {
            onNext: ({ result: next }) => void errors.push(...(next.errors ?? [])),
            onEnd: () => done(errors),
          };
        },
        // A stream that fails (engine busy, timeout) throws from its iterator instead of yielding errors.
        onSubscribeError: ({ error }) => done([error]),
      };
    },
  };
}

function operationOf(
  document: DocumentNode | undefined,
  requestedName: string | null | undefined,
): Pick<OperationFinished, 'operationName' | 'operationType'> {
  if (!document) return UNPARSED;
  const operation = getOperationAST(document, requestedName ?? undefined);
  return {
    operationName: operation?.name?.value ?? (operation ? 'anonymous' : 'unknown'),
    operationType: (operation?.operation ?? 'unknown') satisfies OperationType,
  };
}

/** The HTTP server's id for the request; each WebSocket operation gets one of its own. */
function requestIdIn(context: ObservedContext | undefined): string {
  return typeof context?.requestId === 'string' ? context.requestId : randomUUID();
}

function transportOf(context: ObservedContext): OperationState['transport'] {
  if (context.socket !== undefined) return 'ws';
  return context.request?.headers.get('accept')?.includes('text/event-stream') ? 'sse' : 'http';
}

function originalOf(error: unknown): unknown {
  return error instanceof Error && 'originalError' in error && error.originalError ? error.originalError : error;
}
