// Errors the service layer raises itself; engine and database errors pass through with their own codes.
import { CodedError } from '../CodedError.js';

export class NotFoundError extends CodedError {
  readonly code = 'NOT_FOUND';
}

/** One GraphQL operation asked the engine for more work than an operation may (MAX_OPERATION_TEXTS). */
export class OperationTooLargeError extends CodedError {
  readonly code = 'BAD_INPUT';
}
