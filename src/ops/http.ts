/** /healthz and /metrics on node:http. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Health {
  ok: boolean;
  [k: string]: unknown;
}

/** A route a module adds (e.g. `POST /gitlab/webhook`): the request's headers and body in, the answer out. */
export interface HttpRoute {
  method: string;
  path: string;
  handle(req: { headers: http.IncomingHttpHeaders; body: string }): Promise<HttpAnswer> | HttpAnswer;
}

export interface HttpAnswer {
  status: number;
  body?: string;
  contentType?: string;
}

/** Request bodies larger than this are refused (413). */
const MAX_BODY = 1_000_000;

export interface HttpDeps {
  health: () => Health;
  metrics: () => Promise<{ contentType: string; body: string }>;
  routes?: readonly HttpRoute[];
}

function serve(route: HttpRoute, req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) {
      res.writeHead(413, { 'content-type': 'text/plain' }).end('request body too large\n');
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    Promise.resolve()
      .then(() => route.handle({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }))
      .then(
        (a) => res.writeHead(a.status, { 'content-type': a.contentType ?? 'application/json' }).end(a.body ?? ''),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error)?.message ?? String(err)}\n`),
      );
  });
}

export function startHttp(port: number, deps: HttpDeps): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = deps.routes?.find((r) => r.path === path && r.method === req.method);
    if (route) {
      serve(route, req, res);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      let h: Health;
      try {
        h = deps.health();
      } catch (err) {
        h = { ok: false, error: (err as Error).message };
      }
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
      return;
    }
    if (path === '/metrics') {
      deps.metrics().then(
        (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
