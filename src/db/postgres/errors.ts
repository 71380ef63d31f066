// PostgreSQL's and the network's errors mapped onto the typed database errors; anything else (a bug) passes through.
import { DrizzleQueryError } from 'drizzle-orm/errors';
import pg from 'pg';
import { DatabaseError, DatabaseLockedError, DatabaseUnavailableError } from '../errors.js';

// SQLSTATE classes and codes that are conditions of the server or the connection, not of the statement.
const UNAVAILABLE_CLASSES = ['08', '53', '58', 'XX'];
const UNAVAILABLE_CODES = ['57P01', '57P02', '57P03', '57014', '25006', '28000', '28P01', '3D000'];
const LOCKED_CODES = ['55P03', '40001', '40P01'];
const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
];
// pg and pg-pool report a dropped connection, a full pool and a read timeout by message only.
const CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /^Client has encountered a connection error/,
];

const REASONS: Record<string, string> = {
  '28000': 'it refused the credentials',
  '28P01': 'it refused the password',
  '3D000': 'the database does not exist',
  '53300': 'it has no connections left',
  '57014': 'a statement ran past DATABASE_STATEMENT_TIMEOUT_MS',
  '57P01': 'it is shutting down',
  '57P03': 'it is starting up or shutting down',
  '25006': 'it is read-only (a standby)',
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
};

/**
 * Maps a driver error to a typed DatabaseError whose message names `location` (host:port/database, never the
 * password), or returns undefined when it is not a condition of the database (a constraint violation, a bug).
 */
export function toPostgresError(error: unknown, location: string): DatabaseError | undefined {
  if (error instanceof DatabaseError) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : '';
  if (error instanceof pg.DatabaseError) {
    if (LOCKED_CODES.includes(code)) {
      return new DatabaseLockedError({
        message: `PostgreSQL at ${location} gave up waiting for a lock (${code})`,
        cause: error,
      });
    }
    if (!UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) && !UNAVAILABLE_CODES.includes(code)) return undefined;
    return unavailable(location, REASONS[code] ?? `${message} (${code})`, error);
  }
  if (NETWORK_CODES.includes(code)) return unavailable(location, REASONS[code] ?? code, error);
  if (error instanceof AggregateError) return toPostgresError(error.errors[0], location);
  if (CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return unavailable(location, message, error);
  // drizzle wraps the driver's error ("Failed query: …") with the driver's as its cause.
  if (error instanceof DrizzleQueryError) return toPostgresError(error.cause, location);
  return undefined;
}

function unavailable(location: string, reason: string, cause: unknown): DatabaseUnavailableError {
  return new DatabaseUnavailableError({ message: `PostgreSQL at ${location} is unavailable: ${reason}`, cause });
}

const WRITE_FAILURES: Readonly<Record<string, string>> = {
  '25006': 'it is read-only',
  '53100': 'its disk is full',
  '57014': 'a statement ran past DATABASE_STATEMENT_TIMEOUT_MS',
};

/**
 * Why a write failed, in words fit for /readyz (no host, no credentials), when the failure is a condition of the
 * database; undefined for anything else (a constraint violation, a bug).
 */
export function writeFailureReason(error: unknown): string | undefined {
  if (error instanceof DatabaseLockedError) return 'it gave up waiting for a lock';
  if (!(error instanceof DatabaseError)) return undefined;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' ? WRITE_FAILURES[code] : undefined) ?? 'a write failed';
}
