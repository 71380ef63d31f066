// Access to the GraphQL endpoint: a Yoga plugin for HTTP and SSE, and the checks graphql-ws and the context use.
import type { Plugin } from 'graphql-yoga';
import { errorResponseBody } from '../schema/errors.js';
import type { ApiKeyring } from './apiKeys.js';
import { UnauthenticatedError } from './errors.js';

export interface ApiKeyAuthOptions {
  keyring: ApiKeyring;
}

const UNAUTHORIZED = 401;
const MISSING_KEY = 'An API key is required: send "Authorization: Bearer <key>".';

/** Refuses HTTP and SSE requests without a configured key with 401 and the code UNAUTHENTICATED. */
export function useApiKeyAuth({ keyring }: ApiKeyAuthOptions): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (!keyring.enabled) return;
      // A CORS preflight carries no credentials by design, and runs no operation.
      if (request.method === 'OPTIONS') return;
      if (keyring.ownerOf(request.headers.get('authorization')) !== undefined) return;
      const body = errorResponseBody(new UnauthenticatedError({ message: MISSING_KEY }));
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), {
          status: UNAUTHORIZED,
          headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
        }),
      );
    },
  };
}

/** graphql-ws carries the key in the `connection_init` payload: `{ "authorization": "Bearer <key>" }`. */
export function acceptsConnection(
  keyring: ApiKeyring,
  connectionParams: Readonly<Record<string, unknown>> | undefined,
): boolean {
  return keyring.ownerOf(connectionParams?.['authorization']) !== undefined;
}

/**
 * The owner a GraphQL operation acts for, from its HTTP header or its socket's `connection_init` payload.
 * Requests without a key were refused before; throwing here keeps a missed path from running as nobody.
 */
export function ownerOfOperation(
  keyring: ApiKeyring,
  source: { request?: Request | undefined; connectionParams?: Readonly<Record<string, unknown>> | undefined },
): string | null {
  const authorization = source.request
    ? source.request.headers.get('authorization')
    : source.connectionParams?.['authorization'];
  const owner = keyring.ownerOf(authorization);
  if (owner === undefined) throw new UnauthenticatedError({ message: MISSING_KEY });
  return owner;
}
