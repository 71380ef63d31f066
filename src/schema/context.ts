// The per-request context every resolver receives, built once for HTTP, SSE and WebSocket alike.
import type { OperationScope } from '../service/OperationScope.js';
import type { Services } from '../service/createServices.js';

export interface GraphQLContext {
  services: Services;
  /** Who the request acts for: a fingerprint of its API key (never the key), or null while auth is off. */
  owner: string | null;
  /**
   * The operation's engine budget and fairness key; its signal aborts when the client goes away or the operation's
   * result is final (subscriptions also stop through their iterator).
   */
  operation: OperationScope;
}
