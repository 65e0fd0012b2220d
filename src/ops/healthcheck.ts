/**
 * The container's HEALTHCHECK: `node dist/src/ops/healthcheck.js [CONFIG]` asks the running bot's
 * /healthz on the port its config names (`http.port`), and exits 0 when it answers 200, 1
 * otherwise, printing why (docker inspect shows it). The config is the argument, else
 * $SRE_BOT_CONFIG, else /config/bot.config.json (the image's).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

export function portFromConfig(text: string): number | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `the config is not JSON: ${(err as Error).message}`;
  }
  const port = (raw as { http?: { port?: unknown } } | null)?.http?.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return 'http.port is not set to a fixed port in the config: the health check needs it (e.g. "http": { "port": 8080 })';
  return port;
}

export function check(port: number, timeoutMs = 4_000): Promise<{ ok: boolean; line: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c.length + body.length > 2_000 ? '' : c));
      res.on('end', () => resolve({ ok: res.statusCode === 200, line: `${res.statusCode} ${body.trim().slice(0, 500)}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, line: `unhealthy: http://127.0.0.1:${port}/healthz: ${err.message}` }));
  });
}

if (require.main === module) {
  const path = process.argv[2] ?? process.env.SRE_BOT_CONFIG ?? '/config/bot.config.json';
  let port: number | string;
  try {
    port = portFromConfig(readFileSync(path, 'utf8'));
  } catch (err) {
    port = `cannot read ${path}: ${(err as Error).message}`;
  }
  if (typeof port === 'string') {
    process.stdout.write(`unhealthy: ${port}\n`);
    process.exit(1);
  }
  void check(port).then((r) => {
    process.stdout.write(`${r.line}\n`);
    process.exit(r.ok ? 0 : 1);
  });
}
