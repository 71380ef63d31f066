// Serving the web page: its files and the graphql-ws client from this server only, and nothing else from disk.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInside } from '../src/http/staticFiles.js';
import { WEB_ROOT } from '../src/http/webPage.js';
import { createScratchDir, createTestService, type SqliteTestService } from './support/testApp.js';

const scratch = createScratchDir('aio-web-page-');
let service: SqliteTestService;
let port: number;

beforeAll(async () => {
  // No model: serving files must not depend on it.
  service = createTestService(path.join(scratch.dir, 'web.db'), undefined);
  port = (await service.app.start(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await service.app.stop();
  service.database.close();
  scratch.remove();
});

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends the path exactly as written: fetch would normalise `..` away before the server ever saw it. */
function request(
  rawPath: string,
  { method = 'GET', headers = {} }: { method?: string; headers?: Record<string, string> } = {},
) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('the page', () => {
  it('serves index.html at / with a policy that allows only this origin', async () => {
    const response = await request('/');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(response.body).toContain('<script type="module" src="/web/js/main.js"></script>');
    // Offline: nothing is loaded from another host.
    expect(response.body).not.toMatch(/(src|href)=["']https?:/);
  });

  it('serves the graphql-ws browser client from the installed package', async () => {
    const response = await request('/vendor/graphql-ws.min.js');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.body).toContain('graphqlWs');
  });

  it('serves every module the page imports, with the right type, and none from elsewhere', async () => {
    const modules = readdirSync(path.join(WEB_ROOT, 'js'));
    for (const module of modules) {
      const source = readFileSync(path.join(WEB_ROOT, 'js', module), 'utf8');
      for (const [, imported] of source.matchAll(/from '([^']+)'/g)) expect(imported).toMatch(/^\.\/[\w]+\.js$/);
      const response = await request(`/web/js/${module}`);
      expect(response.status, module).toBe(200);
      expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(response.body).toBe(source);
    }
    expect((await request('/web/styles.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await request('/web/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
  });

  it('answers HEAD without a body, a matching ETag with 304, and other methods with 405', async () => {
    const head = await request('/web/styles.css', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
    const again = await request('/web/styles.css', { headers: { 'if-none-match': head.headers.etag! } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const post = await request('/web/styles.css', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});

describe('paths that try to leave web/', () => {
  it.each([
    '/web/../package.json',
    '/web/..%2fpackage.json',
    '/web/%2e%2e/package.json',
    '/web/js/..%2F..%2Fpackage.json',
    '/web/..%5c..%5cpackage.json',
    '/web/%2e%2e%2f%2e%2e%2fsrc%2fapp.ts',
    '/web/index.html%00.js',
    '/web/.gitignore',
    '/web/%E0%A4%A',
    '/web/',
    '/web/js',
  ])('refuses %s', async (rawPath) => {
    const response = await request(rawPath);
    expect([400, 404]).toContain(response.status);
    expect(response.body).not.toContain('"name": "all-in-one"');
    expect(response.body).not.toContain('createServer');
  });

  it('serves only known file types, even inside web/', () => {
    expect(resolveInside(WEB_ROOT, 'index.html')).toBe(path.join(WEB_ROOT, 'index.html'));
    expect(resolveInside(WEB_ROOT, 'js/main.js')).toBe(path.join(WEB_ROOT, 'js', 'main.js'));
    expect(resolveInside(WEB_ROOT, 'notes.md')).toBeNull();
    expect(resolveInside(WEB_ROOT, 'js/main.ts')).toBeNull();
    expect(resolveInside(WEB_ROOT, 'js\\..\\..\\package.json')).toBeNull();
  });

  it('leaves other paths to GraphQL and the probes', async () => {
    expect((await request('/healthz')).status).toBe(200);
    expect((await request('/index.html')).status).toBe(404);
    expect((await request('/src/app.ts')).status).toBe(404);
  });
});
