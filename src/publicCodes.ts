// The codes clients see for the service's own error codes: the API's `extensions.code`, and the stored code of an
// analysis item that failed (so the API and the results files say the same).

/** Domain error codes (engine, service, database) and the code clients see. */
export const PUBLIC_CODES: Readonly<Record<string, string>> = {
  BAD_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  ENGINE_BUSY: 'ENGINE_BUSY',
  TIMEOUT: 'TIMEOUT',
  MODEL_UNAVAILABLE: 'MODEL_UNAVAILABLE',
  ABORTED: 'ABORTED',
  BACKGROUND_DISABLED: 'JOBS_DISABLED',
  DATABASE_LOCKED: 'DATABASE_UNAVAILABLE',
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  LENGTH_REQUIRED: 'LENGTH_REQUIRED',
  SUBSCRIPTION_LIMIT: 'TOO_MANY_SUBSCRIPTIONS',
  CONNECTION_LIMIT: 'TOO_MANY_CONNECTIONS',
  BAD_REQUEST_TARGET: 'BAD_REQUEST',
  FORBIDDEN_HOST: 'FORBIDDEN_HOST',
  FORBIDDEN_ORIGIN: 'FORBIDDEN_ORIGIN',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  JOB_NOT_OPEN: 'JOB_NOT_OPEN',
  JOB_TOO_LARGE: 'JOB_TOO_LARGE',
  JOB_LIMIT: 'JOB_LIMIT',
};

/** The public code of an expected error (one with a known `code`); undefined for anything else. */
export function publicCodeOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string') return undefined;
  return PUBLIC_CODES[error.code];
}
