// `GET /jobs/{id}/results.csv|.jsonl`: an analysis job's results file, streamed, under the API's key and origin rules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../logger.js';
import { describeError, errorResponseBody } from '../schema/errors.js';
import type { ApiKeyring } from '../security/apiKeys.js';
import { UnauthenticatedError } from '../security/errors.js';
import { NotFoundError } from '../service/errors.js';
import type { JobResultsService, ResultsFile, ResultsFormat } from '../service/jobResults.js';
import { MethodNotAllowedError, RequestRefusedError } from './errors.js';
import type { OriginPolicy } from './originPolicy.js';

export interface JobResultsRouteOptions {
  results: JobResultsService;
  keyring: ApiKeyring;
  policy: OriginPolicy;
  logger: Logger;
}

/** Answers and returns true when the request is for a results file; returns false to let other routes answer. */
export type JobResultsRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

const RESULTS_PATH = /^\/jobs\/([^/]+)\/results\.(csv|jsonl)$/;
const CONTENT_TYPES: Readonly<Record<ResultsFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};
/** The job's status when the file was opened: anything but DONE, CANCELLED or FAILED means more results may follow. */
const JOB_STATUS_HEADER = 'x-job-status';
const ALLOWED_METHODS = 'GET, HEAD';
const NO_SUCH_JOB = 'There is no such analysis job of yours.';
const MISSING_KEY = 'An API key is required: send "Authorization: Bearer <key>".';
const HTTP_STATUS_OF_CODE: Readonly<Record<string, number>> = {
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  METHOD_NOT_ALLOWED: 405,
  DATABASE_UNAVAILABLE: 503,
};
/** A job's name may be long; the file's name keeps this many characters of it. */
const MAX_FILE_NAME_CHARS = 100;
/** Below Node's 64 KiB default: a slow reader holds back at most this much beyond the page being written. */
const STREAM_HIGH_WATER_MARK = 16 * 1024;

export function createJobResultsRoute(options: JobResultsRouteOptions): JobResultsRoute {
  return (req, res) => {
    const match = RESULTS_PATH.exec((req.url ?? '/').split(/[?#]/, 1)[0]!);
    if (!match) return false;
    void respond(req, res, options, decodeURIComponentOrNull(match[1]!), match[2] as ResultsFormat);
    return true;
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  { results, keyring, policy, logger }: JobResultsRouteOptions,
  jobId: string | null,
  format: ResultsFormat,
): Promise<void> {
  const origin = req.headers.origin;
  const refusal = policy.originRefusal({ host: req.headers.host, origin, fetchSite: header(req, 'sec-fetch-site') });
  if (refusal) return sendError(res, new RequestRefusedError(refusal), refusal.status);
  // Only an allowed page of another origin gets CORS headers; a same-origin page and non-browser clients need none.
  const cors = origin !== undefined && policy.corsAllowed(origin) ? corsHeaders(origin) : {};
  if (req.method === 'OPTIONS') {
    // A preflight carries no credentials by design; it learns only what the GET may send.
    res.writeHead(204, { ...cors, allow: ALLOWED_METHODS, 'access-control-allow-headers': 'authorization' });
    return void res.end();
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', ALLOWED_METHODS);
    return sendError(res, new MethodNotAllowedError({ message: 'Results files answer GET and HEAD only.' }), 405, cors);
  }
  const owner = keyring.ownerOf(req.headers.authorization);
  if (owner === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    return sendError(res, new UnauthenticatedError({ message: MISSING_KEY }), 401, cors);
  }
  let file: ResultsFile | null;
  try {
    file = jobId === null ? null : await results.open(jobId, owner, format);
  } catch (error) {
    const { code, unexpected, detail } = describeError(error);
    if (unexpected || detail) logger.error({ err: error, jobId }, 'could not open a results file');
    return sendError(res, error, HTTP_STATUS_OF_CODE[code] ?? 500, cors);
  }
  // The same answer for a job that does not exist and one of another key's: neither is told apart.
  if (!file) return sendError(res, new NotFoundError({ message: NO_SUCH_JOB }), 404, cors);

  res.writeHead(200, {
    ...cors,
    'content-type': CONTENT_TYPES[format],
    'content-disposition': contentDisposition(file.job.name ?? file.job.id, format),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    [JOB_STATUS_HEADER]: file.job.status.toUpperCase(),
  });
  if (req.method === 'HEAD') return void res.end();
  try {
    // A page is read only when the socket has taken the previous one: memory stays flat however slow the reader.
    await pipeline(Readable.from(file.chunks, { objectMode: false, highWaterMark: STREAM_HIGH_WATER_MARK }), res);
  } catch (error) {
    // The client left (nothing to do), or a page could not be read after the status went out: the response is cut
    // short without its last chunk, which every HTTP client reports as an incomplete body.
    if (!isClientGone(error)) logger.error({ err: error, jobId }, 'a results file was cut short');
  }
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': `content-disposition, ${JOB_STATUS_HEADER}, x-request-id`,
    'access-control-max-age': '600',
    vary: 'origin',
  };
}

/** `<name>.results.csv`: an ASCII fallback, and the name as given in `filename*` (RFC 6266) for clients that read it. */
function contentDisposition(name: string, format: ResultsFormat): string {
  const file = `${Array.from(name).slice(0, MAX_FILE_NAME_CHARS).join('')}.results.${format}`;
  const ascii = file.replace(/[^A-Za-z0-9._-]/g, '_');
  // RFC 8187 leaves ' ( ) * out of the characters that may stand for themselves; encodeURIComponent keeps them.
  const encoded = encodeURIComponent(file).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16)}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function sendError(res: ServerResponse, error: unknown, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(errorResponseBody(error)));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decodeURIComponentOrNull(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function isClientGone(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ERR_STREAM_PREMATURE_CLOSE';
}
