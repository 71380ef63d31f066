// The per-request context every resolver receives, built once for HTTP, SSE and WebSocket alike.
import type { Services } from '../service/Services.js';

export interface GraphQLContext {
  services: Services;
  /** Who the request acts for: a fingerprint of its API key (never the key), or null while auth is off. */
  owner: string | null;
  /** Aborted when the client goes away (HTTP request closed); subscriptions stop through their iterator. */
  signal: AbortSignal;
}
