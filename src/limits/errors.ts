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
