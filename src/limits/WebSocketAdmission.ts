// Counts WebSockets from their upgrade to their close, and refuses one that would pass a connection cap.
import type { IncomingMessage } from 'node:http';
import { clientOf } from './clientAddress.js';
import type { ConnectionLimits } from './connectionLimits.js';
import { ConnectionLimitError } from './errors.js';

export interface WebSocketAdmissionOptions {
  limits: Pick<
    ConnectionLimits,
    'maxWebSockets' | 'maxWebSocketsPerClient' | 'maxWebSocketsPerKey' | 'maxUninitializedWebSockets'
  >;
  /** WS_INIT_TIMEOUT_MS: an uninitialized socket's slot frees within it, so that is when to retry. */
  initTimeoutMs: number;
}

export interface WebSocketCounts {
  initialized: number;
  uninitialized: number;
}

/** A full server or client frees a slot only when some socket closes; a few seconds is a polite wait. */
export const CONNECTION_RETRY_AFTER_SECONDS = 5;
const MS_PER_SECOND = 1000;

interface Admitted {
  client: string;
  /** The API key's fingerprint once `connection_init` was accepted with one; null for an open API. */
  owner?: string | null;
}

export class WebSocketAdmission {
  readonly #options: WebSocketAdmissionOptions;
  readonly #admitted = new WeakMap<IncomingMessage, Admitted>();
  readonly #perClient = new Map<string, number>();
  readonly #perKey = new Map<string, number>();
  #open = 0;
  #uninitialized = 0;

  constructor(options: WebSocketAdmissionOptions) {
    this.#options = options;
  }

  /**
   * At the upgrade, before the handshake: counts the socket until its TCP connection closes (however the handshake
   * ends), or says which cap it would pass.
   */
  admit(req: IncomingMessage): ConnectionLimitError | undefined {
    const { limits } = this.#options;
    const client = clientOf(req.socket.remoteAddress);
    if (this.#open >= limits.maxWebSockets) {
      return this.#refusal('server', `The server holds its limit of ${limits.maxWebSockets} WebSocket connections.`);
    }
    if (this.#uninitialized >= limits.maxUninitializedWebSockets) {
      const limit = limits.maxUninitializedWebSockets;
      const message = `The server holds its limit of ${limit} WebSockets waiting for connection_init.`;
      return this.#refusal('uninitialized', message, Math.ceil(this.#options.initTimeoutMs / MS_PER_SECOND));
    }
    if ((this.#perClient.get(client) ?? 0) >= limits.maxWebSocketsPerClient) {
      return this.#refusal('client', `This address already holds ${limits.maxWebSocketsPerClient} WebSocket connections.`);
    }
    // A client already gone would never report its close: nothing to count, and its handshake goes nowhere.
    if (req.socket.destroyed) return undefined;
    const admitted: Admitted = { client };
    this.#admitted.set(req, admitted);
    this.#open += 1;
    this.#uninitialized += 1;
    add(this.#perClient, client, 1);
    req.socket.once('close', () => this.#release(admitted));
    return undefined;
  }

  /** At an accepted `connection_init`: the socket counts against its key now, unless the key holds its share. */
  initialize(req: IncomingMessage, owner: string | null): ConnectionLimitError | undefined {
    const admitted = this.#admitted.get(req);
    if (!admitted || admitted.owner !== undefined) return undefined;
    const { maxWebSocketsPerKey } = this.#options.limits;
    if (owner !== null && (this.#perKey.get(owner) ?? 0) >= maxWebSocketsPerKey) {
      return this.#refusal('key', `This API key already holds ${maxWebSocketsPerKey} WebSocket connections.`);
    }
    admitted.owner = owner;
    this.#uninitialized -= 1;
    if (owner !== null) add(this.#perKey, owner, 1);
    return undefined;
  }

  counts(): WebSocketCounts {
    return { initialized: this.#open - this.#uninitialized, uninitialized: this.#uninitialized };
  }

  #release(admitted: Admitted): void {
    this.#open -= 1;
    add(this.#perClient, admitted.client, -1);
    if (admitted.owner === undefined) this.#uninitialized -= 1;
    else if (admitted.owner !== null) add(this.#perKey, admitted.owner, -1);
  }

  #refusal(scope: ConnectionLimitError['scope'], detail: string, retryAfterSeconds = CONNECTION_RETRY_AFTER_SECONDS) {
    const message = `${detail} Try again in ${retryAfterSeconds} s.`;
    return new ConnectionLimitError({ message, scope, retryAfterSeconds });
  }
}

/** Adds to a count, dropping it at zero so the map holds only clients and keys with a socket open. */
function add(counts: Map<string, number>, name: string, delta: number): void {
  const count = (counts.get(name) ?? 0) + delta;
  if (count > 0) counts.set(name, count);
  else counts.delete(name);
}
