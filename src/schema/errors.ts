// The one place domain errors become GraphQL errors: a stable extensions.code for expected ones, a mask for the rest.
import { GraphQLError } from 'graphql';

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

function publicCodeOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string') return undefined;
  return PUBLIC_CODES[error.code];
}

/**
 * Yoga's `maskError`: an expected domain error keeps its message and gets its public code; GraphQL's own
 * errors (syntax, validation, variables) pass through; anything else is masked.
 */
export function maskError(error: unknown, message: string): Error {
  const graphQLError = error instanceof GraphQLError ? error : undefined;
  const original = graphQLError ? graphQLError.originalError : error;
  const code = publicCodeOf(original);
  if (code && original instanceof Error) {
    return new GraphQLError(original.message, {
      ...(graphQLError ? { nodes: graphQLError.nodes, path: graphQLError.path } : {}),
      extensions: { code },
    });
  }
  if (graphQLError && (original === undefined || original === null || original instanceof GraphQLError)) {
    return graphQLError;
  }
  return new GraphQLError(message || UNEXPECTED_ERROR_MESSAGE, {
    ...(graphQLError ? { nodes: graphQLError.nodes, path: graphQLError.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
