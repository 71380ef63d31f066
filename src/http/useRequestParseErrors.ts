// A Yoga plugin: a GET whose `variables` or `extensions` is not JSON is the client's mistake (400), not a server fault.
import { createGraphQLError, type Plugin } from 'graphql-yoga';

const BAD_REQUEST = 400;

/**
 * Yoga's GET parser lets `JSON.parse` throw, which is then masked as an unexpected error with status 200. Wrapping
 * whichever parser Yoga picked turns that into the same 400 `BAD_REQUEST` a malformed JSON body gets, which the
 * observability plugin logs and counts as a refused request.
 */
export function useRequestParseErrors(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof Error && error.name === 'GraphQLError') throw error;
          const detail =
            error instanceof SyntaxError ? 'its variables or extensions are not valid JSON' : 'it cannot be read';
          throw createGraphQLError(`The request is malformed: ${detail}.`, {
            extensions: { http: { status: BAD_REQUEST }, code: 'BAD_REQUEST' },
          });
        }
      });
    },
  };
}
