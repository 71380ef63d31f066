// Reads a request line's target as RFC 9112 asks of an origin server, so every handler after it sees a path.
import type { IncomingMessage } from 'node:http';
import { BadRequestTargetError } from './errors.js';

const ABSOLUTE_FORM = /^https?:\/\//i;
/** What Yoga's adapter puts before the path when a request has no Host (HTTP/1.0). */
const HOSTLESS_BASE = 'http://localhost';

/**
 * Rewrites an absolute-form target (`GET http://host:port/healthz HTTP/1.1`, which proxies send) to its path, with
 * its authority as the Host — RFC 9112 §3.2.2: the target's host wins over the header, so the Host rules still
 * apply. Any other form that is not a path (`*`, `host:port`) is the client's mistake: an error to answer with 400.
 * Left alone, such a target reaches Yoga's adapter, which cannot build a URL from it and answers 500 with a stack.
 */
export function normalizeRequestTarget(req: IncomingMessage): BadRequestTargetError | undefined {
  const target = req.url ?? '';
  if (ABSOLUTE_FORM.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return refusal(target);
    }
    req.url = `${url.pathname}${url.search}`;
    req.headers.host = url.host;
  } else if (!target.startsWith('/')) {
    return refusal(target);
  }
  const host = req.headers.host;
  return URL.canParse(`${host === undefined ? HOSTLESS_BASE : `http://${host}`}${req.url}`) ? undefined : refusal(target);
}

function refusal(target: string): BadRequestTargetError {
  const shown = target.length > 80 ? `${target.slice(0, 80)}…` : target;
  return new BadRequestTargetError({
    message: `The request target "${shown}" is neither a path nor an http URL.`,
  });
}
