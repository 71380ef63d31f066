// Refuses an HTTP request body over MAX_BODY_BYTES from its headers, before a byte of it is read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorResponseBody } from '../schema/errors.js';
import { LengthRequiredError, PayloadTooLargeError } from './errors.js';

/** Answers 413 (or 411 for a body of unknown length) and returns true when the request must not go on. */
export function refuseOversizedBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  const declared = req.headers['content-length'];
  let refusal: { status: number; error: Error } | undefined;
  if (declared === undefined) {
    // A chunked body's size is known only once it has all arrived; GraphQL clients send Content-Length.
    if (req.headers['transfer-encoding'] !== undefined) {
      const message = 'Send the request body with a Content-Length header.';
      refusal = { status: 411, error: new LengthRequiredError({ message }) };
    }
  } else if (Number(declared) > maxBytes) {
    refusal = {
      status: 413,
      error: new PayloadTooLargeError({ message: `The request body is larger than the limit of ${maxBytes} bytes.` }),
    };
  }
  if (!refusal) return false;
  // The unread body makes the connection unusable for another request: close it once the answer is out.
  res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify(errorResponseBody(refusal.error)));
  req.resume();
  return true;
}
