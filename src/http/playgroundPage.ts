// GraphiQL's page (about 9 MB, its assets inlined), rendered on the first request and served compressed, with an ETag.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';

export interface PlaygroundPageOptions {
  /** The GraphQL endpoint's path, where a browser asks for the page (a GET accepting text/html). */
  path: string;
  /** Renders the page; called once, on the first request. */
  render: () => string | Promise<string>;
}

/** Answers the request and returns true when it asks for the page; returns false to let others answer. */
export type PlaygroundPageHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

type Encoding = 'br' | 'gzip' | 'identity';

interface Page {
  etag: string;
  bodies: Record<Encoding, Buffer>;
}

/**
 * Brotli's quality 5 compresses the page about 10× in a fraction of a second; 11 would gain a few percent for
 * many seconds of CPU. Compression runs on libuv's threads, never on the event loop.
 */
const BROTLI_QUALITY = 5;
const compressBrotli = promisify(brotliCompress);
const compressGzip = promisify(gzip);
/** Best first: what the page is sent as when the browser accepts several. */
const PREFERENCE: readonly Encoding[] = ['br', 'gzip'];

export function createPlaygroundPage(options: PlaygroundPageOptions): PlaygroundPageHandler {
  let page: Promise<Page> | undefined;
  // A failed build (out of memory) is not kept: the next request tries again.
  const built = (): Promise<Page> =>
    (page ??= Promise.resolve()
      .then(options.render)
      .then(buildPage)
      .catch((error: unknown) => {
        page = undefined;
        throw error;
      }));

  return (req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !req.headers.accept?.includes('text/html')) return false;
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname !== options.path && pathname !== `${options.path}/`) return false;
    void built().then(
      (ready) => send(req, res, ready),
      (error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return true;
  };
}

async function buildPage(html: string): Promise<Page> {
  const identity = Buffer.from(html, 'utf8');
  const [br, gzipped] = await Promise.all([
    compressBrotli(identity, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }),
    compressGzip(identity),
  ]);
  const etag = `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`;
  return { etag, bodies: { br, gzip: gzipped, identity } };
}

function send(req: IncomingMessage, res: ServerResponse, page: Page): void {
  const encoding = negotiate(req.headers['accept-encoding']);
  // One ETag for every encoding of the same page: a weak validator, as the bytes differ while the page does not.
  const etag = `W/${page.etag}`;
  const headers: Record<string, string> = {
    'content-type': 'text/html; charset=utf-8',
    // The page changes only with an upgrade: keep it, but ask (a 304 costs a few bytes) before using it.
    'cache-control': 'no-cache',
    etag,
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
  };
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = page.bodies[encoding];
  if (encoding !== 'identity') headers['content-encoding'] = encoding;
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The best encoding `Accept-Encoding` allows (`q=0` refuses one); identity when it names none we have. */
function negotiate(acceptEncoding: string | undefined): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    accepted.set(name, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  const wildcard = accepted.get('*') ?? 0;
  return PREFERENCE.find((encoding) => (accepted.get(encoding) ?? wildcard) > 0) ?? 'identity';
}

/** `If-None-Match` compares weakly: `*`, or any listed tag equal to ours with or without `W/`. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}
