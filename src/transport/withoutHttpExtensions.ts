// A result sent on a stream (a socket message, a multipart part) has no status line: `extensions.http` is dropped.
import type { ExecutionResult, FormattedExecutionResult, GraphQLFormattedError } from 'graphql';

/** The result without its errors' `extensions.http` (a status and Retry-After); undefined when none has it. */
export function withoutHttpExtensions(
  result: ExecutionResult | FormattedExecutionResult,
): FormattedExecutionResult | undefined {
  if (!result.errors?.some((error) => error.extensions?.['http'] !== undefined)) return undefined;
  const errors = result.errors.map((error): GraphQLFormattedError => {
    const json = 'toJSON' in error ? error.toJSON() : error;
    const { http: _http, ...extensions } = json.extensions ?? {};
    return { ...json, extensions };
  });
  return { ...result, errors } as FormattedExecutionResult;
}
