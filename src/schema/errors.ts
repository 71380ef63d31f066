// The one place domain errors become GraphQL errors: a stable extensions.code for expected ones, a mask for the rest.
import type { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';

/** Domain error codes (engine, service, database) and the code clients see. */
const PUBLIC_CODES: Readonly<Record<string, string>> = {
  BAD_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  ENGINE_BUSY: 'ENGINE_BUSY',
  TIMEOUT: 'TIMEOUT',
  MODEL_UNAVAILABLE: 'MODEL_UNAVAILABLE',
  ABORTED: 'ABORTED',
  DATABASE_LOCKED: 'DATABASE_UNAVAILABLE',
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
};

export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';

/** By name, not `instanceof`: tools that load graphql both as ESM and CommonJS end up with two GraphQLError classes. */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

function publicCodeOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string') return undefined;
  return PUBLIC_CODES[error.code];
}

/**
 * Yoga's `maskError`: an expected domain error keeps its message and gets its public code; GraphQL's own
 * errors (syntax, validation, variables) pass through; anything else is masked.
 */
export function maskError(error: unknown, message: string): Error {
  const graphQLError = isGraphQLError(error) ? error : undefined;
  const original = graphQLError ? graphQLError.originalError : error;
  const code = publicCodeOf(original);
  if (code && original instanceof Error) {
    return createGraphQLError(original.message, {
      ...(graphQLError ? { nodes: graphQLError.nodes, path: graphQLError.path } : {}),
      extensions: { code },
    });
  }
  if (graphQLError && (original === undefined || original === null || isGraphQLError(original))) {
    return graphQLError;
  }
  return createGraphQLError(message || UNEXPECTED_ERROR_MESSAGE, {
    ...(graphQLError ? { nodes: graphQLError.nodes, path: graphQLError.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
