// The base of every error the service expects: a stable `code` (src/schema/errors.ts maps it to the API's once).

export interface CodedErrorOptions {
  message: string;
  cause?: unknown;
}

export abstract class CodedError extends Error {
  abstract readonly code: string;

  constructor({ message, cause }: CodedErrorOptions) {
    super(message, { cause });
    this.name = new.target.name;
  }
}
