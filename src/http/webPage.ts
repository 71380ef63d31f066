// The chat and analytics page at `/`: its own files from web/, and the graphql-ws and csv-parse browser builds from
// node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStaticFiles, type StaticFilesHandler } from './staticFiles.js';

/** Where the page's files live; resolved from this module, not the working directory. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** The URL the page loads the graphql-ws client from (its UMD build defines `globalThis.graphqlWs`). */
export const GRAPHQL_WS_CLIENT_PATH = '/vendor/graphql-ws.min.js';

/** The URL the Files view imports csv-parse from: its browser ES module build (one file, no imports of its own). */
export const CSV_PARSE_PATH = '/vendor/csv-parse.js';

/**
 * Everything the page needs comes from this origin: no CDN, no inline script or style. `connect-src 'self'`
 * covers the same-origin WebSocket as well as fetch.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function createWebPage(): StaticFilesHandler {
  return createStaticFiles({
    files: {
      '/': path.join(WEB_ROOT, 'index.html'),
      [GRAPHQL_WS_CLIENT_PATH]: graphqlWsBrowserBuild(),
      [CSV_PARSE_PATH]: createRequire(import.meta.url).resolve('csv-parse/browser/esm/sync'),
    },
    folders: { '/web/': WEB_ROOT },
    headers: { 'content-security-policy': CONTENT_SECURITY_POLICY, 'referrer-policy': 'no-referrer' },
  });
}

/** graphql-ws exports no path to its UMD file, but it does export its package.json, which sits beside `umd/`. */
function graphqlWsBrowserBuild(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('graphql-ws/package.json')), 'umd', 'graphql-ws.min.js');
}
