// Routes HTTP upgrades on the GraphQL path to the WebSocket server, and keeps client protocol errors quiet.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { RequestRefusedError } from '../http/errors.js';
import type { OriginPolicy } from '../http/originPolicy.js';
import type { Logger } from '../logger.js';
import { errorResponseBody } from '../schema/errors.js';

export interface WebSocketUpgradeOptions {
  /** A `noServer` WebSocketServer that graphql-ws serves. */
  webSockets: WebSocketServer;
  path: string;
  logger: Logger;
  /** Browsers always send `Origin` with a WebSocket: a page of another site gets no socket, nor a foreign Host. */
  policy: OriginPolicy;
}

/**
 * The `upgrade` listener for the HTTP server. Routing upgrades here (instead of giving `ws` the server) keeps
 * the HTTP server's own errors (a port in use) away from graphql-ws, which prints them as a stack dump.
 */
export function handleWebSocketUpgrade(options: WebSocketUpgradeOptions) {
  const { webSockets, path, logger, policy } = options;
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if ((req.url ?? '/').split('?', 1)[0] !== path) return void socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    const refusal = policy.originRefusal({
      host: req.headers.host,
      origin: req.headers.origin,
      fetchSite: header(req, 'sec-fetch-site'),
    });
    if (refusal) {
      logger.info({ code: refusal.code, origin: req.headers.origin, host: req.headers.host }, 'WebSocket refused');
      const body = JSON.stringify(errorResponseBody(new RequestRefusedError(refusal)));
      return void socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
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

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
