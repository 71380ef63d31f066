// Errors as the log shows them: what an operator needs (class, code, SQLSTATE, table, stack), never a user's text.

/** Causes followed at most; a cycle or a very deep chain must not blow up a log line. */
const MAX_CAUSES = 5;
/** What a PostgreSQL error may show: its message and `detail` can quote the values a statement carried. */
const SAFE_POSTGRES_FIELDS = ['severity', 'code', 'schema', 'table', 'column', 'constraint', 'routine'] as const;

export interface SerializedError {
  type: string;
  message?: string;
  code?: string;
  /** A failed database statement with placeholders ($1, ?), never its parameters. */
  query?: string;
  stack?: string;
  [field: string]: unknown;
}

/**
 * pino's `err` serializer. A database driver's error carries the statement's parameters — a chat message, a text
 * to classify — in its fields and, through drizzle ("Failed query: … params: …"), in its message and stack; the
 * README promises texts are never logged, so those are left out here, for every logger and every error.
 */
export function serializeError(error: unknown, depth = 0): SerializedError | unknown {
  if (!(error instanceof Error)) return error;
  const stack = framesOf(error.stack);
  const type = error.constructor.name === 'Error' ? error.name : error.constructor.name;
  const cause = depth < MAX_CAUSES && error.cause !== undefined ? { cause: serializeError(error.cause, depth + 1) } : {};
  if (isStatementError(error)) return { type, query: error.query, ...cause, ...(stack ? { stack } : {}) };
  if (isPostgresError(error)) {
    const fields = Object.fromEntries(
      SAFE_POSTGRES_FIELDS.flatMap((field) => (typeof error[field] === 'string' ? [[field, error[field]]] : [])),
    );
    return { type, ...fields, ...cause, ...(stack ? { stack } : {}) };
  }
  const code = (error as { code?: unknown }).code;
  return {
    type,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...cause,
    ...(stack ? { stack } : {}),
  };
}

/** drizzle's DrizzleQueryError, recognised by shape so that the logger loads no driver. */
function isStatementError(error: Error): error is Error & { query: string } {
  return typeof (error as { query?: unknown }).query === 'string' && 'params' in error;
}

/** node-postgres's DatabaseError: a five-character SQLSTATE and the server's severity. */
function isPostgresError(error: Error): error is Error & Record<(typeof SAFE_POSTGRES_FIELDS)[number], unknown> {
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
}

/** The stack's frames only: its first lines repeat the message. */
function framesOf(stack: string | undefined): string | undefined {
  const frames = stack?.split('\n').filter((line) => /^\s+at /.test(line));
  return frames && frames.length > 0 ? frames.join('\n') : undefined;
}
