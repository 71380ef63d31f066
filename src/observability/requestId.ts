// One id per HTTP request: the caller's (a proxy's) `x-request-id` when it looks like an id, else a fresh UUID.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids as proxies and tracing systems write them; anything else (too long, odd characters) is not logged. */
const ACCEPTED_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
}
