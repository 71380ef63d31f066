// Who may talk to the service from a browser: the Host and Origin rules for HTTP, SSE and WebSocket, in one place.
import { isIP } from 'node:net';

export interface OriginPolicyOptions {
  /** The configured HOST: when it is a name, requests may use it as their Host. */
  listenHost: string;
  /** ALLOWED_HOSTS: more names the service answers to (a reverse proxy's); `.example.com` also allows its subdomains; `*` any. */
  allowedHosts: readonly string[];
  /** ALLOWED_ORIGINS: browser origins (`scheme://host[:port]`) that may call the API from another page; `*` any. */
  allowedOrigins: readonly string[];
}

/** The parts of a request the policy looks at. */
export interface RequestFacts {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  /** `Sec-Fetch-Site`, which current browsers send with every request. */
  fetchSite: string | undefined;
  contentType: string | undefined;
  accept: string | undefined;
}

export type Refusal =
  | { status: 403; code: 'FORBIDDEN_HOST' | 'FORBIDDEN_ORIGIN'; message: string }
  | { status: 406; code: 'NOT_ACCEPTABLE'; message: string }
  | { status: 415; code: 'UNSUPPORTED_MEDIA_TYPE'; message: string };

export interface OriginPolicy {
  /** Whether the `Host` header names this service (refusing others defeats DNS rebinding). */
  hostAllowed(host: string | undefined): boolean;
  /** Why a WebSocket upgrade (or any request) must not go on: a foreign Host, or a page of another origin. */
  originRefusal(request: Pick<RequestFacts, 'host' | 'origin' | 'fetchSite'>): Refusal | undefined;
  /** `originRefusal`, and for a GraphQL operation over HTTP: a body a plain form could send, a GET no GraphQL client sends. */
  requestRefusal(request: RequestFacts): Refusal | undefined;
  /** Whether a cross-origin browser page may read the answers (the CORS headers go out for it). */
  corsAllowed(origin: string): boolean;
}

const ANY = '*';
/** What a browser sends without a CORS preflight; a page on any site can post these with a plain form. */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
/** What a GET must accept to run: GraphQL over HTTP's types, or the event stream. `<img>` and `<script>` ask for others. */
const GRAPHQL_GET_TYPES = ['application/graphql-response+json', 'application/json', 'text/event-stream', 'multipart/mixed'];
/** `Sec-Fetch-Site` values that prove a request came from this very origin, or from no page at all (the address bar). */
const OWN_FETCH_SITES = ['same-origin', 'none'];

export function createOriginPolicy(options: OriginPolicyOptions): OriginPolicy {
  const allowedHosts = options.allowedHosts.map((host) => host.toLowerCase());
  const allowedOrigins = options.allowedOrigins.map(normalizeOrigin);
  const listenHost = options.listenHost.toLowerCase();

  const hostAllowed = (host: string | undefined): boolean => {
    // HTTP/1.0 without Host: no browser sends that, and there is no name to rebind.
    if (host === undefined) return true;
    const name = hostnameOf(host);
    if (name === undefined) return false;
    // An address is not a name an attacker's DNS can point here; loopback names never leave the machine.
    if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || name === listenHost) return true;
    return allowedHosts.some((allowed) => allowed === ANY || allowed === name || isSubdomain(name, allowed));
  };

  const corsAllowed = (origin: string): boolean =>
    allowedOrigins.includes(ANY) || allowedOrigins.includes(normalizeOrigin(origin));

  const originRefusal: OriginPolicy['originRefusal'] = ({ host, origin, fetchSite }) => {
    if (!hostAllowed(host)) {
      return {
        status: 403,
        code: 'FORBIDDEN_HOST',
        message: `This service does not answer to the host "${host}"; add it to ALLOWED_HOSTS.`,
      };
    }
    if (origin !== undefined) {
      if (sameOrigin(origin, host) || corsAllowed(origin)) return undefined;
      return {
        status: 403,
        code: 'FORBIDDEN_ORIGIN',
        message: `Requests from ${origin} are not allowed; add it to ALLOWED_ORIGINS.`,
      };
    }
    // A browser request from another site that carries no Origin (an <img>, a <script>) cannot be vouched for.
    if (fetchSite !== undefined && !OWN_FETCH_SITES.includes(fetchSite)) {
      return {
        status: 403,
        code: 'FORBIDDEN_ORIGIN',
        message: 'Cross-site requests must come from an origin in ALLOWED_ORIGINS.',
      };
    }
    return undefined;
  };

  return {
    hostAllowed,
    corsAllowed,
    originRefusal,
    requestRefusal(request) {
      const refusal = originRefusal(request);
      if (refusal) return refusal;
      const method = request.method.toUpperCase();
      const simpleBody =
        request.contentType === undefined || SIMPLE_CONTENT_TYPES.includes(mediaTypeOf(request.contentType));
      if (method === 'POST' && simpleBody) {
        return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send GraphQL requests as application/json.' };
      }
      if (method === 'GET' && !acceptsGraphQL(request.accept)) {
        const message = 'A GET must accept application/graphql-response+json, application/json or text/event-stream.';
        return { status: 406, code: 'NOT_ACCEPTABLE', message };
      }
      return undefined;
    },
  };
}

/** Same scheme-less host and port; the scheme is not compared, since a proxy may end TLS in front of the service. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}

/** `.example.com` allows example.com and every name under it. */
function isSubdomain(name: string, allowed: string): boolean {
  return allowed.startsWith('.') && (name === allowed.slice(1) || name.endsWith(allowed));
}

/** Origins compare as URL origins: case and default ports do not matter; `null` (sandboxed pages) stays `null`. */
function normalizeOrigin(origin: string): string {
  if (origin === ANY) return ANY;
  try {
    return new URL(origin).origin;
  } catch {
    return origin.toLowerCase();
  }
}

function hostnameOf(host: string): string | undefined {
  try {
    const { hostname } = new URL(`http://${host}`);
    return (hostname.startsWith('[') ? hostname.slice(1, -1) : hostname).toLowerCase();
  } catch {
    return undefined;
  }
}

function mediaTypeOf(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function acceptsGraphQL(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((entry) => GRAPHQL_GET_TYPES.includes(mediaTypeOf(entry)));
}
