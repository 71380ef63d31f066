// Errors of the HTTP surface's own checks; src/schema/errors.ts gives each its public code.
import { CodedError } from '../CodedError.js';
import type { Refusal } from './originPolicy.js';

/** The origin policy refused a request: a foreign Host, a page of another origin, a body a plain form could send. */
export class RequestRefusedError extends CodedError {
  readonly code: Refusal['code'];
  readonly status: Refusal['status'];

  constructor(refusal: Refusal) {
    super({ message: refusal.message });
    this.code = refusal.code;
    this.status = refusal.status;
  }
}

/** A request line whose target is neither a path nor an absolute http(s) URL (`*`, `host:port`, garbage). */
export class BadRequestTargetError extends CodedError {
  readonly code = 'BAD_REQUEST_TARGET';
}

/** A route that answers only some methods (GET and HEAD for files) was asked with another. */
export class MethodNotAllowedError extends CodedError {
  readonly code = 'METHOD_NOT_ALLOWED';
}
