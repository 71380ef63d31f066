// GraphQL over SSE ("distinct connections" mode) with fetch: the fallback when WebSockets cannot get through.
import { ApiError, fromGraphQLErrors, toApiError } from './errors.js';

/**
 * Runs one subscription over a POST whose response is an event stream. `sink.next` gets each ExecutionResult;
 * the returned function cancels (the server sees the request close and stops the work).
 */
export function subscribeOverSse({ endpoint, headers, query, variables }, sink) {
  const controller = new AbortController();
  run().then(
    () => sink.complete(),
    (error) => {
      if (!controller.signal.aborted) sink.error(toApiError(error));
    },
  );
  return () => controller.abort();

  async function run() {
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query, variables }),
        signal: controller.signal,
      });
    } catch (cause) {
      throw new ApiError({ code: 'CONNECTION_LOST', message: 'The server cannot be reached.', cause });
    }
    if (response.status === 401 || response.status === 403) {
      throw new ApiError({ code: 'UNAUTHENTICATED', message: `HTTP ${response.status}` });
    }
    if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const body = await response.json().catch(() => ({}));
      throw body.errors?.length ? fromGraphQLErrors(body.errors) : new ApiError({ code: 'UNEXPECTED', message: `HTTP ${response.status}` });
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (cause) {
        throw new ApiError({ code: 'CONNECTION_LOST', message: 'The event stream broke off.', cause });
      }
      if (chunk.done) throw new ApiError({ code: 'CONNECTION_LOST', message: 'The event stream ended early.' });
      buffer += chunk.value.replace(/\r\n/g, '\n');
      let boundary;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const event = parseEvent(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        if (event.type === 'complete') return;
        if (event.type === 'next' && event.data) sink.next(JSON.parse(event.data));
      }
    }
  }
}

function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { type, data: data.join('\n') };
}
