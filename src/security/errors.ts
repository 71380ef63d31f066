// Errors of the access checks; src/schema/errors.ts gives each its public code.

/** The request carries no configured API key. */
export class UnauthenticatedError extends Error {
  readonly code = 'UNAUTHENTICATED';

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super(message, { cause });
    this.name = 'UnauthenticatedError';
  }
}
