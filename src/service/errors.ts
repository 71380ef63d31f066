// Errors the service layer raises itself; engine and database errors pass through with their own codes.

export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super(message, { cause });
    this.name = 'NotFoundError';
  }
}
