// The page's only way to the server: GraphQL over HTTP for queries, graphql-ws for subscriptions (SSE if WebSockets fail),
// and plain GETs with the same key for files (a job's results).
import { ApiError, fromGraphQLErrors, isCloseEvent, toApiError } from './errors.js';
import { subscribeOverSse } from './sse.js';

/**
 * `apiKey()` is read on every request and every (re)connection, so a key entered later applies to what follows.
 * `onUnauthorized(error)` runs whenever the server refuses the key, before the caller sees the error.
 */
export function createApi({ endpoint = '/graphql', apiKey, onUnauthorized }) {
  const wsUrl = new URL(endpoint, location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  let client = null;
  /** Once the socket has been up, a failure is a lost connection, not a network that blocks WebSockets. */
  let socketEverOpened = false;
  let transport = typeof WebSocket === 'function' ? 'ws' : 'sse';

  function authorization() {
    const key = apiKey();
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  function report(error) {
    const apiError = toApiError(error);
    if (apiError.code === 'UNAUTHENTICATED') onUnauthorized(apiError);
    return apiError;
  }

  function wsClient() {
    client ??= globalThis.graphqlWs.createClient({
      url: wsUrl.href,
      lazy: true,
      // A chat turn must never be re-sent by a silent reconnect: a lost socket is shown, and the user retries.
      retryAttempts: 0,
      connectionParams: authorization,
      on: { connected: () => (socketEverOpened = true) },
    });
    return client;
  }

  /** Runs a query or mutation; resolves with `data` or throws an ApiError. */
  async function request(query, variables = {}) {
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { ...authorization(), 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
    } catch (cause) {
      throw report(new ApiError({ code: 'CONNECTION_LOST', message: 'The server cannot be reached.', cause }));
    }
    if (response.status === 401) throw report(new ApiError({ code: 'UNAUTHENTICATED', message: 'HTTP 401' }));
    const body = await response.json().catch(() => null);
    if (!body) throw report(new ApiError({ code: 'UNEXPECTED', message: `HTTP ${response.status}` }));
    if (body.errors?.length) throw report(fromGraphQLErrors(body.errors));
    return body.data;
  }

  /** GETs a file of the API (e.g. `/jobs/<id>/results.csv`) with the key; resolves with the 200 response or throws an ApiError. */
  async function fetchFile(path) {
    let response;
    try {
      response = await fetch(path, { headers: authorization() });
    } catch (cause) {
      throw report(new ApiError({ code: 'CONNECTION_LOST', message: 'The server cannot be reached.', cause }));
    }
    if (response.ok) return response;
    const body = await response.json().catch(() => null);
    if (body?.errors?.length) throw report(fromGraphQLErrors(body.errors));
    throw report(new ApiError({ code: response.status === 401 ? 'UNAUTHENTICATED' : 'UNEXPECTED', message: `HTTP ${response.status}` }));
  }

  /**
   * Runs a subscription: `next(data)` per event, then `complete()`, or `error(ApiError)` once. Returns a function
   * that cancels it; after cancelling, no more callbacks arrive.
   */
  function subscribe(query, variables, handlers) {
    let cancelled = false;
    let cancel;
    const sink = {
      next: (result) => {
        if (cancelled) return;
        if (result.errors?.length) {
          cancelled = true;
          cancel();
          handlers.error(report(result.errors));
        } else handlers.next(result.data);
      },
      error: (error) => {
        if (cancelled) return;
        if (transport === 'ws' && !socketEverOpened && blockedSocket(error)) {
          transport = 'sse';
          dropSocketClient();
          cancel = subscribeOverSse({ endpoint, headers: authorization(), query, variables }, sink);
          return;
        }
        cancelled = true;
        handlers.error(report(error));
      },
      complete: () => {
        if (cancelled) return;
        cancelled = true;
        handlers.complete();
      },
    };
    cancel =
      transport === 'ws'
        ? wsClient().subscribe({ query, variables }, sink)
        : subscribeOverSse({ endpoint, headers: authorization(), query, variables }, sink);
    return () => {
      if (cancelled) return;
      cancelled = true;
      cancel();
    };
  }

  function dropSocketClient() {
    void client?.dispose();
    client = null;
  }

  return { request, subscribe, fetchFile };
}

/** The socket never opened, and not because the server said no (4xxx) or is going away: a proxy or network in the way. */
function blockedSocket(error) {
  if (isCloseEvent(error)) return error.code < 4000 && error.code !== 1000 && error.code !== 1001;
  return error instanceof Event;
}
