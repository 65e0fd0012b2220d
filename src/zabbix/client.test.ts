/**
 * The Zabbix adapter against a small fake of Zabbix's JSON-RPC: auth per version (6.0 body
 * token; 6.4+ Bearer; 7.2 rejects the body field), error mapping, retries, timeouts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZabbixClient, ZabbixError } from './client';

interface Seen {
  method: string;
  auth?: unknown;
  authorization?: string;
}

class FakeZabbix {
  readonly seen: Seen[] = [];
  /** The params of every call, by method. */
  readonly params: { method: string; params: unknown }[] = [];
  /** Next answers to give instead of the normal one: an HTTP status, or 'hang'. */
  readonly faults: (number | 'hang')[] = [];
  private server!: http.Server;
  url = '';
  constructor(
    readonly version: string,
    private readonly results: Record<string, unknown> = {},
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const rpc = JSON.parse(body) as { method: string; auth?: unknown; id: number };
        this.seen.push({ method: rpc.method, auth: rpc.auth, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        this.params.push({ method: rpc.method, params: (rpc as { params?: unknown }).params });
        const fault = this.faults.shift();
        if (fault === 'hang') return;
        if (typeof fault === 'number') {
          res.writeHead(fault, { 'content-type': 'text/html' }).end('<html>oops</html>');
          return;
        }
        const answer = (x: object) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id, ...x }));
        if (rpc.method === 'apiinfo.version') return answer({ result: this.version });
        const major = Number(this.version.split('.')[0]);
        const minor = Number(this.version.split('.')[1]);
        const bearer = req.headers.authorization === 'Bearer secret';
        const bodyAuth = rpc.auth === 'secret';
        if (major > 7 || (major === 7 && minor >= 2)) {
          if (rpc.auth !== undefined) return answer({ error: { code: -32602, message: 'Invalid params.', data: 'Invalid parameter "/": unexpected parameter "auth".' } });
          if (!bearer) return answer({ error: { code: -32602, message: 'Invalid params.', data: 'Not authorized.' } });
        } else if (major === 6 && minor < 4 ? !bodyAuth : !(bearer || bodyAuth)) {
          return answer({ error: { code: -32602, message: 'Invalid params.', data: 'Not authorized.' } });
        }
        if (rpc.method in this.results) return answer({ result: this.results[rpc.method] });
        return answer({ error: { code: -32601, message: 'Method not found.', data: `Incorrect method "${rpc.method}".` } });
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const eventsResult = [
  {
    eventid: '42',
    objectid: '100',
    name: 'HTTPS is down',
    clock: '1795230000',
    severity: '4',
    acknowledged: '1',
    r_eventid: '0',
    hosts: [{ hostid: '7', host: 'web-01', name: 'web-01.example.org' }],
    acknowledges: [{ clock: '1795230100', message: 'on it', action: '6', username: 'Admin' }],
  },
];

let fakes: FakeZabbix[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});
async function fake(version: string, results: Record<string, unknown> = {}) {
  const f = await new FakeZabbix(version, results).start();
  fakes.push(f);
  return f;
}

test('6.0: the token goes in the body, never in a header; answers are validated and typed', async () => {
  const f = await fake('6.0.14', { 'event.get': eventsResult });
  const c = new ZabbixClient({ url: f.url, token: 'secret' });
  const [e] = await c.events(['42']);
  expect(e).toEqual({
    eventId: '42',
    triggerId: '100',
    name: 'HTTPS is down',
    clock: 1795230000,
    severity: 'High',
    acknowledged: true,
    resolved: false,
    hosts: [{ hostId: '7', host: 'web-01', name: 'web-01.example.org' }],
    acknowledges: [{ clock: 1795230100, message: 'on it', user: 'Admin', acknowledged: true }],
  });
  expect(f.seen).toEqual([{ method: 'apiinfo.version' }, { method: 'event.get', auth: 'secret' }]);
});

test('7.2: Bearer header only (the body field would be rejected)', async () => {
  const f = await fake('7.2.3', { 'event.acknowledge': { eventids: ['42'] } });
  const c = new ZabbixClient({ url: f.url, token: 'secret' });
  await c.acknowledge(['42'], 'note');
  expect(f.seen[1]).toEqual({ method: 'event.acknowledge', authorization: 'Bearer secret' });
  expect(await c.version()).toBe('7.2.3');
});

test('6.4: Bearer header', async () => {
  const f = await fake('6.4.0', { 'problem.get': [] });
  await new ZabbixClient({ url: f.url, token: 'secret' }).problems();
  expect(f.seen[1]).toEqual({ method: 'problem.get', authorization: 'Bearer secret' });
});

test('problem.get leaves out suppressed problems (maintenance) and asks for the suppressed flag; event.get asks for it too', async () => {
  const f = await fake('6.0.14', {
    'problem.get': [{ eventid: '1', objectid: '2', name: 'x', clock: '5', severity: '4', acknowledged: '0', suppressed: '0' }],
    'event.get': [{ ...eventsResult[0], suppressed: '1' }],
  });
  const c = new ZabbixClient({ url: f.url, token: 'secret' });
  expect(await c.problems({ sinceSec: 100 })).toEqual([{ eventId: '1', triggerId: '2', name: 'x', clock: 5, severity: 'High', acknowledged: false, suppressed: false }]);
  const problemGet = f.params.find((p) => p.method === 'problem.get')!.params as Record<string, unknown>;
  expect(problemGet).toMatchObject({ suppressed: false, time_from: 100, source: 0, object: 0 });
  expect(problemGet.output).toContain('suppressed');
  expect((await c.events(['42']))[0]?.suppressed).toBe(true);
  expect((f.params.find((p) => p.method === 'event.get')!.params as { output: string[] }).output).toContain('suppressed');
});

test('errors name the method and carry the JSON-RPC code', async () => {
  const f = await fake('6.0.14');
  const bad = new ZabbixClient({ url: f.url, token: 'wrong', retries: 0 });
  await expect(bad.problems()).rejects.toThrow('Zabbix problem.get: Invalid params. Not authorized.');
  const c = new ZabbixClient({ url: f.url, token: 'secret', retries: 0 });
  const err = (await c.checkNow(['1']).catch((e: unknown) => e)) as ZabbixError;
  expect(err).toBeInstanceOf(ZabbixError);
  expect(err.method).toBe('task.create');
  expect(err.code).toBe(-32601);
  expect(err.transient).toBe(false);
});

test('5xx and non-JSON answers are retried with backoff, then succeed', async () => {
  const f = await fake('6.0.14', { 'problem.get': [{ eventid: '1', objectid: '2', name: 'x', clock: '5', severity: '2', acknowledged: '0' }] });
  const c = new ZabbixClient({ url: f.url, token: 'secret', retries: 2, backoffMs: 10 });
  await c.version();
  f.faults.push(502, 503);
  expect(await c.problems()).toEqual([{ eventId: '1', triggerId: '2', name: 'x', clock: 5, severity: 'Warning', acknowledged: false }]);
  expect(f.seen.filter((s) => s.method === 'problem.get')).toHaveLength(3);
});

test('retries give up with a clear error; a hanging server times out', async () => {
  const f = await fake('6.0.14', { 'problem.get': [] });
  const c = new ZabbixClient({ url: f.url, token: 'secret', retries: 1, backoffMs: 10, timeoutMs: 300 });
  await c.version();
  f.faults.push(500, 500);
  await expect(c.problems()).rejects.toThrow('Zabbix problem.get: HTTP 500');
  f.faults.push('hang', 'hang');
  await expect(c.problems()).rejects.toThrow('Zabbix problem.get: no answer within 300 ms');
});

test('an unreachable Zabbix is a transient error naming the method', async () => {
  const c = new ZabbixClient({ url: 'http://127.0.0.1:9', token: 'secret', retries: 0 });
  const err = (await c.version().catch((e: unknown) => e)) as ZabbixError;
  expect(err.message).toMatch(/^Zabbix apiinfo.version: /);
  expect(err.transient).toBe(true);
});
