// A Yoga plugin: GraphQL over HTTP and SSE runs only for this service's own pages, ALLOWED_ORIGINS, and non-browser clients.
import type { Plugin } from 'graphql-yoga';
import { errorResponseBody } from '../schema/errors.js';
import { RequestRefusedError } from './errors.js';
import type { OriginPolicy, RequestFacts } from './originPolicy.js';

export interface OriginPolicyPluginOptions {
  policy: OriginPolicy;
}

/**
 * Refuses, before anything is parsed, what a page on another site could make a browser send: a request from an
 * origin that is neither this one nor allowed, a body a plain HTML form can post, a GET that no GraphQL client sends
 * (an `<img>` or `<script>`). CORS headers go out only for ALLOWED_ORIGINS (`corsOptionsOf`).
 */
export function useOriginPolicy({ policy }: OriginPolicyPluginOptions): Plugin {
  let graphqlEndpoint: string | undefined;
  return {
    onYogaInit({ yoga }) {
      graphqlEndpoint = yoga.graphqlEndpoint;
    },
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== graphqlEndpoint) return;
      const refusal = policy.requestRefusal(factsOf(request));
      if (!refusal) return;
      endResponse(
        new fetchAPI.Response(JSON.stringify(errorResponseBody(new RequestRefusedError(refusal))), {
          status: refusal.status,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
  };
}

/** Yoga's `cors` option: headers only for an allowed cross-origin page; bearer keys, never cookies. */
export function corsOptionsOf(policy: OriginPolicy) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !policy.corsAllowed(origin)) return false as const;
    return {
      origin: [origin],
      credentials: false,
      // PUT and DELETE: graphql-sse's single-connection mode reserves and stops its stream with them.
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    };
  };
}

function factsOf(request: Request): RequestFacts {
  const header = (name: string): string | undefined => request.headers.get(name) ?? undefined;
  return {
    method: request.method,
    host: header('host'),
    origin: header('origin'),
    fetchSite: header('sec-fetch-site'),
    contentType: header('content-type'),
    accept: header('accept'),
  };
}
