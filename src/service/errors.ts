// Errors the service layer raises itself; engine and database errors pass through with their own codes.
import { CodedError } from '../CodedError.js';

export class NotFoundError extends CodedError {
  readonly code = 'NOT_FOUND';
}
