// A Yoga plugin hiding graphql-js's "Did you mean …?" hints, which name fields, arguments, types and enum values.
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Every form graphql-js words a hint in: `Did you mean "engine"?`, `Did you mean "a" or "b"?`, `Did you mean the
 * enum value "EN"?`. Names cannot contain `?`, so the hint ends at the first one.
 */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * With introspection off, hints would let a client read the schema one guess at a time. They come from validation
 * (fields, arguments, literal enum values, types) and from execution, which coerces variables (an enum value
 * sent in `variables`); both pipelines run for HTTP, SSE and graphql-ws alike.
 */
export function useHiddenSuggestions(): Plugin {
  return {
    onValidate: () => ({ valid, result }) => {
      if (!valid) hideIn(result);
    },
    onExecute: () => ({
      onExecuteDone: ({ result }) => {
        if (!(Symbol.asyncIterator in result)) hideIn(result.errors);
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result }) => {
        if (!(Symbol.asyncIterator in result)) hideIn((result as ExecutionResult).errors);
      },
    }),
  };
}

/** Validation reports plain `Error`s in its type, GraphQL errors in fact; either has a writable message. */
function hideIn(errors: readonly Error[] | undefined): void {
  for (const error of errors ?? []) {
    if (error.message.includes('Did you mean')) error.message = error.message.replace(SUGGESTION, '');
  }
}
