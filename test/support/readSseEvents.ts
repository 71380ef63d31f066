// Reads a GraphQL-over-SSE response ("distinct connections" mode) as the JSON payloads of its `next` events.
// Shared by the transport tests and the streaming benchmarks, which both play an SSE client.

export async function* readSseNextPayloads(response: Response): AsyncGenerator<unknown> {
  if (!response.body) throw new Error(`SSE response without a body (HTTP ${response.status})`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        if (!block.includes('event: next')) continue;
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('');
        if (data) yield JSON.parse(data);
      }
    }
  } finally {
    // A consumer that stops early closes the stream, which tells the server the client has gone.
    await reader.cancel().catch(() => undefined);
  }
}
