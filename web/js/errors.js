// One error shape for everything the page can run into, whatever the transport, with a code people can be told about.

/** Codes the page explains in words; anything else from the server reads as UNEXPECTED. */
const KNOWN_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'ENGINE_BUSY',
  'TIMEOUT',
  'MODEL_UNAVAILABLE',
  'DATABASE_UNAVAILABLE',
  'UNAUTHENTICATED',
  'CONNECTION_LOST',
  'JOB_LIMIT',
  'JOB_TOO_LARGE',
  'JOB_NOT_OPEN',
]);

/** Close code graphql-ws uses when the server refuses the connection (`onConnect` returned false). */
export const WS_FORBIDDEN = 4403;

export class ApiError extends Error {
  constructor({ code, message, cause }) {
    super(message ?? code, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    /** One of KNOWN_CODES or 'UNEXPECTED'. */
    this.code = KNOWN_CODES.has(code) ? code : 'UNEXPECTED';
  }
}

/** From a GraphQL `errors` array (HTTP body, SSE event or graphql-ws `error` message). */
export function fromGraphQLErrors(errors) {
  const first = errors[0] ?? {};
  const code = first.extensions?.code;
  return new ApiError({ code: code === 'FORBIDDEN' ? 'UNAUTHENTICATED' : code, message: first.message, cause: errors });
}

/** Whatever a graphql-ws sink, fetch or stream reader threw, as an ApiError. */
export function toApiError(error) {
  if (error instanceof ApiError) return error;
  if (Array.isArray(error)) return fromGraphQLErrors(error);
  if (isCloseEvent(error)) {
    const code = error.code === WS_FORBIDDEN ? 'UNAUTHENTICATED' : 'CONNECTION_LOST';
    return new ApiError({ code, message: `WebSocket closed (${error.code}) ${error.reason ?? ''}`.trim(), cause: error });
  }
  // A WebSocket 'error' event: the socket failed before it could report a close code.
  if (error instanceof Event) return new ApiError({ code: 'CONNECTION_LOST', message: error.type, cause: error });
  return new ApiError({ code: 'UNEXPECTED', message: String(error?.message ?? error), cause: error });
}

export function isCloseEvent(value) {
  return typeof value === 'object' && value !== null && typeof value.code === 'number' && 'reason' in value;
}
