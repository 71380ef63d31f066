// Errors of the request limits; src/schema/errors.ts gives each its public code.
import { CodedError } from '../CodedError.js';

/** Too many subscriptions are running on this connection or for this API key. */
export class SubscriptionLimitError extends CodedError {
  readonly code = 'SUBSCRIPTION_LIMIT';
}

/** The request body is larger than MAX_BODY_BYTES. */
export class PayloadTooLargeError extends CodedError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}

/** A request body without Content-Length, whose size could only be known by reading all of it. */
export class LengthRequiredError extends CodedError {
  readonly code = 'LENGTH_REQUIRED';
}

/** Which cap a WebSocket would pass: the server's, the not-yet-initialized sockets', its address's or its key's. */
export type ConnectionScope = 'server' | 'uninitialized' | 'client' | 'key';

/** A WebSocket refused by a connection cap; `status` and `retryAfterSeconds` are what its HTTP refusal says. */
export class ConnectionLimitError extends CodedError {
  readonly code = 'CONNECTION_LIMIT';
  readonly scope: ConnectionScope;
  /** 503 when the server as a whole is full, 429 when this client or key has its share. */
  readonly status: 429 | 503;
  readonly retryAfterSeconds: number;

  constructor(options: { message: string; scope: ConnectionScope; retryAfterSeconds: number }) {
    super({ message: options.message });
    this.scope = options.scope;
    this.status = options.scope === 'client' || options.scope === 'key' ? 429 : 503;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
