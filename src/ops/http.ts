/** /healthz and /metrics on node:http. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Health {
  ok: boolean;
  [k: string]: unknown;
}

export interface HttpDeps {
  health: () => Health;
  metrics: () => Promise<{ contentType: string; body: string }>;
}

export function startHttp(port: number, deps: HttpDeps): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
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
