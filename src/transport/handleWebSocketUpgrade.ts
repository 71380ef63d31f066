// Routes HTTP upgrades on the GraphQL path to the WebSocket server, and keeps client protocol errors quiet.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { RequestRefusedError } from '../http/errors.js';
import type { OriginPolicy } from '../http/originPolicy.js';
import { normalizeRequestTarget } from '../http/requestTarget.js';
import type { ConnectionLimitError } from '../limits/errors.js';
import type { WebSocketAdmission } from '../limits/WebSocketAdmission.js';
import type { Logger } from '../logger.js';
import { errorResponseBody } from '../schema/errors.js';

export interface WebSocketUpgradeOptions {
  /** A `noServer` WebSocketServer that graphql-ws serves. */
  webSockets: WebSocketServer;
  path: string;
  logger: Logger;
  /** Browsers always send `Origin` with a WebSocket: a page of another site gets no socket, nor a foreign Host. */
  policy: OriginPolicy;
  /** The connection caps: a socket over one is refused before the handshake, with no socket to hold. */
  admission: WebSocketAdmission;
  /** Told of each refusal by a cap (for metrics). */
  onRefused?: (error: ConnectionLimitError) => void;
}

const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * The `upgrade` listener for the HTTP server. Routing upgrades here (instead of giving `ws` the server) keeps
 * the HTTP server's own errors (a port in use) away from graphql-ws, which prints them as a stack dump.
 */
export function handleWebSocketUpgrade(options: WebSocketUpgradeOptions) {
  const { webSockets, path, logger, policy, admission } = options;
  /** A flood meets a handful of different refusals: each response is built once, keeping the event loop free. */
  const capResponses = new Map<string, string>();
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const badTarget = normalizeRequestTarget(req);
    if (badTarget) return refuse(socket, 400, errorResponseBody(badTarget));
    if ((req.url ?? '/').split('?', 1)[0] !== path) return void socket.end(NOT_FOUND, () => socket.destroy());
    const refusal = policy.originRefusal({
      host: req.headers.host,
      origin: req.headers.origin,
      fetchSite: header(req, 'sec-fetch-site'),
    });
    if (refusal) {
      logger.info({ code: refusal.code, origin: req.headers.origin, host: req.headers.host }, 'WebSocket refused');
      return refuse(socket, 403, errorResponseBody(new RequestRefusedError(refusal)));
    }
    const overCap = admission.admit(req);
    if (overCap) {
      // Debug, not info: a flood of these is what the cap is for, and /metrics counts them.
      logger.debug({ scope: overCap.scope }, 'WebSocket refused by a connection cap');
      options.onRefused?.(overCap);
      let response = capResponses.get(overCap.message);
      if (response === undefined) {
        const headers = { 'Retry-After': String(overCap.retryAfterSeconds) };
        response = responseOf(overCap.status, errorResponseBody(overCap), headers);
        capResponses.set(overCap.message, response);
      }
      return void socket.end(response, () => socket.destroy());
    }
    webSockets.handleUpgrade(req, socket, head, (client) => {
      webSockets.emit('connection', client, req);
      // A client's protocol error (a message over maxPayload, a bad frame) makes `ws` close the socket itself
      // (1009, 1002); graphql-ws would also print it as a stack dump, so its listener gives way to a log line.
      client.removeAllListeners('error');
      client.on('error', (error: Error & { code?: string }) => {
        logger.debug({ code: error.code, message: error.message }, 'WebSocket closed on a client protocol error');
      });
    });
  };
}

/**
 * Answers the upgrade with an HTTP error and a JSON body, then lets the connection go even if the client never
 * closes its side: a refused socket must not keep holding a descriptor.
 */
function refuse(socket: Duplex, status: number, body: unknown): void {
  socket.end(responseOf(status, body), () => socket.destroy());
}

function responseOf(status: number, body: unknown, headers: Record<string, string> = {}): string {
  const json = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(json)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${json}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
