// Caps and counts the HTTP server's TCP connections (MAX_CONNECTIONS), and sets up the caps on its WebSockets.
import type { Server } from 'node:http';
import type { ConnectionLimits } from '../limits/connectionLimits.js';
import { WebSocketAdmission } from '../limits/WebSocketAdmission.js';
import type { Metrics } from '../observability/metrics.js';

export interface LimitConnectionsOptions {
  limits: ConnectionLimits;
  /** WS_INIT_TIMEOUT_MS: how long a socket may wait for `connection_init`, and so when a waiting slot frees. */
  initTimeoutMs: number;
  /** Fed with drops and refusals, and reads the counts at scrape time. */
  metrics?: Metrics | undefined;
}

/**
 * Connections past MAX_CONNECTIONS are closed on arrival, before they could take the last descriptors; WebSockets
 * stay under it with room to spare (MAX_WS_CONNECTIONS), so /healthz still gets a connection. Returns the admission
 * that the upgrade handler and `connection_init` consult.
 */
export function limitConnections(server: Server, options: LimitConnectionsOptions): WebSocketAdmission {
  const { limits, metrics } = options;
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => metrics?.recordConnectionDropped());
  let open = 0;
  server.on('connection', (socket) => {
    open += 1;
    socket.once('close', () => (open -= 1));
  });
  const admission = new WebSocketAdmission({ limits, initTimeoutMs: options.initTimeoutMs });
  metrics?.watchConnections(() => ({ tcp: open, webSockets: admission.counts() }));
  return admission;
}
