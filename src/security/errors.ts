// Errors of the access checks; src/schema/errors.ts gives each its public code.
import { CodedError } from '../CodedError.js';

/** The request carries no configured API key. */
export class UnauthenticatedError extends CodedError {
  readonly code = 'UNAUTHENTICATED';
}
