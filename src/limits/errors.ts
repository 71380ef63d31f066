// Errors of the request limits; src/schema/errors.ts gives each its public code.

interface LimitErrorOptions {
  message: string;
  cause?: unknown;
}

/** Too many subscriptions are running on this connection or for this API key. */
export class SubscriptionLimitError extends Error {
  readonly code = 'SUBSCRIPTION_LIMIT';

  constructor({ message, cause }: LimitErrorOptions) {
    super(message, { cause });
    this.name = 'SubscriptionLimitError';
  }
}

/** The request body is larger than MAX_BODY_BYTES. */
export class PayloadTooLargeError extends Error {
  readonly code = 'PAYLOAD_TOO_LARGE';

  constructor({ message, cause }: LimitErrorOptions) {
    super(message, { cause });
    this.name = 'PayloadTooLargeError';
  }
}

/** A request body without Content-Length, whose size could only be known by reading all of it. */
export class LengthRequiredError extends Error {
  readonly code = 'LENGTH_REQUIRED';

  constructor({ message, cause }: LimitErrorOptions) {
    super(message, { cause });
    this.name = 'LengthRequiredError';
  }
}
