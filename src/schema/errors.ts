// The one place domain errors become GraphQL errors: a stable extensions.code for expected ones (src/publicCodes.ts),
// a mask for the rest.
import type { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { PUBLIC_CODES, publicCodeOf } from '../publicCodes.js';

/**
 * Codes whose messages name server internals (a file path): clients get these words instead, with
 * `extensions.retryable`, and the original goes to the log.
 */
const PUBLIC_MESSAGES: Readonly<Record<string, string>> = {
  DATABASE_LOCKED: 'The database is busy (another process holds its lock); try again shortly.',
  DATABASE_UNAVAILABLE:
    'The database cannot store or read data right now (busy, full, failing or removed); try again shortly.',
};

export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';
const UNEXPECTED_ERROR_CODE = 'INTERNAL_SERVER_ERROR';
/** GraphQL's own errors (syntax, validation, variables) carry no code of ours. */
const GRAPHQL_ERROR_CODE = 'GRAPHQL_ERROR';

/** By name, not `instanceof`: tools that load graphql both as ESM and CommonJS end up with two GraphQLError classes. */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

/**
 * Yoga's `maskError`: an expected domain error keeps its message and gets its public code; GraphQL's own
 * errors (syntax, validation, variables) pass through; anything else is masked.
 */
export function maskError(error: unknown, message: string): GraphQLError {
  const graphQLError = isGraphQLError(error) ? error : undefined;
  const original = graphQLError ? graphQLError.originalError : error;
  const code = publicCodeOf(original);
  if (code && original instanceof Error) {
    const publicMessage = PUBLIC_MESSAGES[(original as Error & { code: string }).code];
    return createGraphQLError(publicMessage ?? original.message, {
      ...(graphQLError ? { nodes: graphQLError.nodes, path: graphQLError.path } : {}),
      extensions: { ...(publicMessage ? { code, retryable: true } : { code }), ...retryHintOf(original) },
    });
  }
  if (graphQLError && (original === undefined || original === null || isGraphQLError(original))) {
    // graphql-js reports a variable it cannot coerce (a string for a Float, an Int over 32 bits) without a
    // code; it is the client's input, so it gets the input code. Its wording is stable across graphql 15–17.
    if (graphQLError.extensions['code'] === undefined && graphQLError.message.startsWith('Variable "$')) {
      return createGraphQLError(graphQLError.message, {
        nodes: graphQLError.nodes,
        extensions: { ...graphQLError.extensions, code: PUBLIC_CODES['BAD_INPUT'] },
      });
    }
    return graphQLError;
  }
  return createGraphQLError(message || UNEXPECTED_ERROR_MESSAGE, {
    ...(graphQLError ? { nodes: graphQLError.nodes, path: graphQLError.path } : {}),
    extensions: { code: UNEXPECTED_ERROR_CODE },
  });
}

/**
 * A refusal with a retry hint (ENGINE_BUSY): `retryAfterMs` for every transport, and for HTTP a status code (503 when
 * the queue is full, 429 when the caller's key has its share waiting) with `Retry-After` in whole seconds. Yoga turns
 * `extensions.http` into the response's status and headers and leaves it out of the body.
 */
function retryHintOf(error: Error): Record<string, unknown> {
  if (!('retryAfterMs' in error) || typeof error.retryAfterMs !== 'number') return {};
  const status = 'limit' in error && error.limit === 'key' ? 429 : 503;
  return {
    retryAfterMs: error.retryAfterMs,
    http: { status, headers: { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) } },
  };
}

/** The JSON body for an error answered outside GraphQL execution (refused before Yoga runs the operation). */
export function errorResponseBody(error: unknown): { errors: unknown[] } {
  return { errors: [maskError(error, UNEXPECTED_ERROR_MESSAGE).toJSON()] };
}

/**
 * The code clients see for an error, whether it is masked as unexpected, and — when clients got other words than the
 * original (a database fault naming its file) — the original message, for the log.
 */
export function describeError(error: unknown): { code: string; unexpected: boolean; detail?: string } {
  const masked = maskError(error, UNEXPECTED_ERROR_MESSAGE);
  const code = masked.extensions['code'];
  const original = isGraphQLError(error) ? error.originalError : error;
  const detail = masked.extensions['retryable'] && original instanceof Error ? { detail: original.message } : {};
  return {
    code: typeof code === 'string' ? code : GRAPHQL_ERROR_CODE,
    unexpected: code === UNEXPECTED_ERROR_CODE,
    ...detail,
  };
}

/**
 * A protocol error (parse, validation) with the code Yoga gives it over HTTP, for graphql-ws, where no
 * plugin adds it; anything that is not a GraphQL error goes through `maskError`.
 */
export function withErrorCode(error: unknown, code: 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED'): GraphQLError {
  if (!isGraphQLError(error)) return maskError(error, UNEXPECTED_ERROR_MESSAGE);
  return createGraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    extensions: { ...error.extensions, code },
  });
}
