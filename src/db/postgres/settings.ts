// PostgreSQL's defaults and how a URL is named in messages: no driver here, so the configuration and the SQLite
// path can use them without loading pg.
export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

/** Where a URL points, fit to print: host:port/database (a socket folder in `?host=` counts as the host). */
export function postgresLocation(url: string): string {
  const parsed = new URL(url);
  const host = parsed.searchParams.get('host') ?? (decodeURIComponent(parsed.hostname) || 'localhost');
  const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres';
  return `${host}:${parsed.port || '5432'}/${database}`;
}
