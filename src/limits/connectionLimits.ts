// The caps on connections the server holds at once, with defaults sized from the process's descriptor limit.

export interface ConnectionLimits {
  /** TCP connections held at once, HTTP and WebSocket together; more are closed on arrival (MAX_CONNECTIONS). */
  maxConnections: number;
  /** WebSocket connections at once, initialized or not (MAX_WS_CONNECTIONS). */
  maxWebSockets: number;
  /** WebSocket connections from one client address (an IPv6 client: its /64) at once (MAX_WS_CONNECTIONS_PER_CLIENT). */
  maxWebSocketsPerClient: number;
  /** Initialized WebSocket connections of one API key at once, with API_KEYS set (MAX_WS_CONNECTIONS_PER_KEY). */
  maxWebSocketsPerKey: number;
  /** WebSockets that have not yet sent an accepted `connection_init` (MAX_WS_UNINITIALIZED). */
  maxUninitializedWebSockets: number;
}

/** Descriptors kept out of the connection cap: the database, PostgreSQL's pool, the model file, logs, libuv's own. */
export const DESCRIPTOR_RESERVE = 256;
/** The least a MAX_CONNECTIONS setting must leave under the descriptor limit. */
export const MIN_DESCRIPTOR_RESERVE = 64;
/** Assumed where the limit cannot be read (no /proc): the smallest soft limit common systems give. */
export const FALLBACK_DESCRIPTOR_LIMIT = 1024;
/** Room for HTTP requests and probes that MAX_WS_CONNECTIONS must leave under MAX_CONNECTIONS. */
export const MIN_HTTP_HEADROOM = 32;
/** An idle initialized socket costs about 16 KB; 2,048 of them are about 32 MB, far more than one model can serve. */
export const DEFAULT_MAX_WEBSOCKETS = 2048;
/** A browser tab holds one socket; a household or an office behind one address holds a few dozen. */
export const DEFAULT_MAX_WEBSOCKETS_PER_CLIENT = 128;
export const DEFAULT_MAX_WEBSOCKETS_PER_KEY = 128;
/** Honest clients send `connection_init` at once; these live at most WS_INIT_TIMEOUT_MS each. */
export const DEFAULT_MAX_UNINITIALIZED_WEBSOCKETS = 256;
const MIN_CONNECTIONS = 64;

/** MAX_CONNECTIONS's default: DESCRIPTOR_RESERVE under the descriptor limit. */
export function defaultMaxConnections(descriptorLimit: number | undefined): number {
  return Math.max(MIN_CONNECTIONS, (descriptorLimit ?? FALLBACK_DESCRIPTOR_LIMIT) - DESCRIPTOR_RESERVE);
}

/** The WebSocket caps' defaults under a connection cap: WebSockets may take at most half of the connections. */
export function webSocketLimitDefaults(maxConnections: number): Omit<ConnectionLimits, 'maxConnections'> {
  const maxWebSockets = Math.min(DEFAULT_MAX_WEBSOCKETS, Math.floor(maxConnections / 2));
  return {
    maxWebSockets,
    maxWebSocketsPerClient: Math.min(DEFAULT_MAX_WEBSOCKETS_PER_CLIENT, maxWebSockets),
    maxWebSocketsPerKey: Math.min(DEFAULT_MAX_WEBSOCKETS_PER_KEY, maxWebSockets),
    maxUninitializedWebSockets: Math.min(DEFAULT_MAX_UNINITIALIZED_WEBSOCKETS, maxWebSockets),
  };
}
