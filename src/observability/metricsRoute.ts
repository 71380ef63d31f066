// `GET /metrics`: the registry in Prometheus text format, behind an optional access check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

export interface MetricsRouteOptions {
  metrics: Metrics;
  /** Decides whether the request may read the metrics (e.g. an API key when METRICS_AUTH is on); default: everyone. */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
}

/** Answers and returns true when the request is for `/metrics`; returns false to let other routes answer. */
export type MetricsRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createMetricsRoute(options: MetricsRouteOptions): MetricsRoute {
  const { metrics, authorize } = options;
  return (req, res) => {
    if ((req.url ?? '/').split(/[?#]/, 1)[0] !== METRICS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed');
      return true;
    }
    void respond(req, res, options.metrics, authorize);
    return true;
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  authorize: MetricsRouteOptions['authorize'],
): Promise<void> {
  try {
    if (authorize && !(await authorize(req))) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
      res.end('Unauthorized');
      return;
    }
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`Could not collect metrics: ${error instanceof Error ? error.message : String(error)}`);
  }
}
