// Serves files from fixed folders and fixed paths: GET and HEAD only, known types only, never outside a root.
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** Only these extensions are served; anything else under a mount is a 404, so no source or data file leaks. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

export interface StaticFilesOptions {
  /** Exact URL paths answered with one file each, e.g. `/` → `web/index.html`. */
  files?: Readonly<Record<string, string>>;
  /** URL prefixes (ending in `/`) answered from a folder, e.g. `/web/` → `web/`. */
  folders?: Readonly<Record<string, string>>;
  /** Headers added to every file served, e.g. a Content-Security-Policy. */
  headers?: Readonly<Record<string, string>>;
}

/** Answers the request and returns true when its path belongs to these files; returns false to let others answer. */
export type StaticFilesHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createStaticFiles(options: StaticFilesOptions): StaticFilesHandler {
  const files = new Map(Object.entries(options.files ?? {}).map(([route, file]) => [route, path.resolve(file)]));
  const folders = Object.entries(options.folders ?? {}).map(([prefix, dir]) => ({ prefix, root: path.resolve(dir) }));
  const extraHeaders = options.headers ?? {};
  const cache: FileCache = new Map();

  return (req, res) => {
    const pathname = (req.url ?? '/').split(/[?#]/, 1)[0]!;
    let file = files.get(pathname);
    if (file === undefined) {
      const folder = folders.find(({ prefix }) => pathname.startsWith(prefix));
      if (!folder) return false;
      file = resolveInside(folder.root, pathname.slice(folder.prefix.length)) ?? undefined;
      if (file === undefined) {
        sendText(res, 404, 'Not found');
        return true;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed');
      return true;
    }
    sendFile(req, res, file, extraHeaders, cache);
    return true;
  };
}

/**
 * The file `encoded` names inside `root`, or null when it would leave the root, names a hidden file or a
 * type not served. Each segment is decoded on its own, so `%2F` cannot smuggle in a separator.
 */
export function resolveInside(root: string, encoded: string): string | null {
  const segments: string[] = [];
  for (const raw of encoded.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === '' || segment.startsWith('.') || /[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (!file.startsWith(base + path.sep)) return null;
  return CONTENT_TYPES[path.extname(file).toLowerCase()] === undefined ? null : file;
}

/** Each file's bytes as last read, under the tag of the version they belong to. */
type FileCache = Map<string, { etag: string; body: Buffer }>;

/**
 * Synchronous on purpose: these are a few small local files, and the asynchronous calls would queue on libuv's thread
 * pool, where `npm start` keeps one thread for the model's decodes (src/start.cts): each call would wait for a decode.
 * A file is read again only when its size or time changes, so an edited page is served at once.
 */
function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  extraHeaders: Readonly<Record<string, string>>,
  cache: FileCache,
): void {
  const stats = statSync(file, { throwIfNoEntry: false });
  if (!stats?.isFile()) return sendText(res, 404, 'Not found');

  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers = {
    ...extraHeaders,
    'content-type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    // Unversioned file names: the browser may keep a copy but must ask whether it is still current.
    'cache-control': 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let cached = cache.get(file);
  if (cached?.etag !== etag) {
    try {
      cached = { etag, body: readFileSync(file) };
    } catch {
      return sendText(res, 404, 'Not found');
    }
    cache.set(file, cached);
  }
  res.writeHead(200, { ...headers, 'content-length': cached.body.length });
  res.end(req.method === 'HEAD' ? undefined : cached.body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(text);
}
