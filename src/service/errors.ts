// Errors the service layer raises itself; engine and database errors pass through with their own codes.
import { CodedError } from '../CodedError.js';

export class NotFoundError extends CodedError {
  readonly code = 'NOT_FOUND';
}

/** One GraphQL operation asked the engine for more work than an operation may (MAX_OPERATION_TEXTS). */
export class OperationTooLargeError extends CodedError {
  readonly code = 'BAD_INPUT';
}

/** Items were added to an analysis job that no longer accepts them (it was started, cancelled or has ended). */
export class JobNotOpenError extends CodedError {
  readonly code = 'JOB_NOT_OPEN';
}

/** The items would take an analysis job past MAX_JOB_ITEMS; none of them was added. */
export class JobTooLargeError extends CodedError {
  readonly code = 'JOB_TOO_LARGE';
}

/** The key already has MAX_JOBS_PER_KEY analysis jobs that have not ended. */
export class JobLimitError extends CodedError {
  readonly code = 'JOB_LIMIT';
}
