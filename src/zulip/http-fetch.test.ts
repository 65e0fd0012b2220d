import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { httpFetch, USER_AGENT } from './http-fetch';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
};

test('a form is posted url-encoded with the headers zulip-js gives and the bot\'s name; the answer is read as JSON', async () => {
  let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
  handler = (req, body, res) => {
    seen = { method: req.method, url: req.url, headers: req.headers, body };
    json(res, 200, { result: 'success', id: 42 });
  };
  const form = new URLSearchParams();
  form.append('type', 'stream');
  form.append('to', 'SRE # Critical');
  form.append('content', 'ü & = ✔');
  const res = await httpFetch(`${base}/api/v1/messages`, { method: 'POST', headers: { Authorization: 'Basic abc' }, body: form });
  expect(res.status).toBe(200);
  expect(res.ok).toBe(true);
  expect(await res.json()).toEqual({ result: 'success', id: 42 });
  expect(seen.method).toBe('POST');
  expect(seen.url).toBe('/api/v1/messages');
  expect(seen.headers?.authorization).toBe('Basic abc');
  expect(seen.headers?.host).toBe(base.replace('http://', ''));
  expect(seen.headers?.connection).toBe('keep-alive');
  expect(seen.headers?.['user-agent']).toBe(USER_AGENT);
  expect(seen.headers?.['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
  expect(Object.fromEntries(new URLSearchParams(seen.body))).toEqual({ type: 'stream', to: 'SRE # Critical', content: 'ü & = ✔' });
});

test('the path and query go as zulip-js encoded them; another origin is another connection target', async () => {
  const paths: string[] = [];
  handler = (req, _body, res) => {
    paths.push(req.url ?? '');
    json(res, 200, { result: 'success' });
  };
  const narrow = encodeURIComponent(JSON.stringify([{ operator: 'stream', operand: 'SRE # Critical' }]));
  await httpFetch(`${base}/api/v1/messages?anchor=newest&narrow=${narrow}#ignored`);
  await httpFetch(base);
  await httpFetch(`${base.replace('127.0.0.1', 'localhost')}/api/v1/users/me`);
  expect(paths).toEqual([`/api/v1/messages?anchor=newest&narrow=${narrow}`, '/', '/api/v1/users/me']);
});

test('requests one after another share one kept-alive connection', async () => {
  handler = (_req, _body, res) => json(res, 200, { result: 'success' });
  await httpFetch(`${base}/warm`);
  const before = connections;
  for (let i = 0; i < 5; i++) await (await httpFetch(`${base}/api/v1/events?last_event_id=${i}`)).json();
  expect(connections).toBe(before);
});

test('a gzip answer is inflated (asked for as node-fetch asked)', async () => {
  let accept: string | undefined;
  handler = (req, _body, res) => {
    accept = req.headers['accept-encoding'];
    const z = gzipSync(JSON.stringify({ result: 'success', messages: Array.from({ length: 200 }, (_, i) => ({ id: i })) }));
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(z.length) });
    res.end(z);
  };
  const body = (await (await httpFetch(`${base}/api/v1/messages`)).json()) as { messages: unknown[] };
  expect(accept).toMatch(/gzip/);
  expect(body.messages).toHaveLength(200);
});

test('an answer that is not JSON (a proxy\'s error page) is an error with its status and its start', async () => {
  handler = (_req, _body, res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html><body>502 Bad Gateway</body></html>');
  };
  const res = await httpFetch(`${base}/api/v1/messages`, { method: 'POST', body: 'a=1' });
  expect(res.status).toBe(502);
  await expect(res.json()).rejects.toMatchObject({ code: 'INVALID_JSON', status: 502, message: expect.stringMatching(/answer 502 to POST .* is not JSON: <html><body>502 Bad Gateway/) });
});

test('a redirect is not followed: the error names where the server points', async () => {
  handler = (_req, _body, res) => {
    res.writeHead(301, { location: 'https://zulip.example.org/api/v1/register' });
    res.end();
  };
  await expect(httpFetch(`${base}/api/v1/register`, { method: 'POST', body: 'x=1' })).rejects.toMatchObject({
    code: 'REDIRECTED',
    status: 301,
    message: expect.stringMatching(/redirected \(301\) to https:\/\/zulip\.example\.org\/api\/v1\/register/),
  });
});

test('a redirect to something that is not an address is an error too, not a crash', async () => {
  handler = (_req, _body, res) => {
    res.writeHead(302, { location: 'http://[' });
    res.end();
  };
  await expect(httpFetch(`${base}/api/v1/register`, { method: 'POST', body: 'x=1' })).rejects.toMatchObject({ code: 'REDIRECTED', message: expect.stringMatching(/to http:\/\/\[/) });
});

test('an answer cut short is an error (ECONNRESET), not a short body', async () => {
  handler = (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked
    res.write('{"result":"succ', () => res.destroy());
  };
  await expect(httpFetch(`${base}/api/v1/messages`, { method: 'POST', body: 'a=1' })).rejects.toMatchObject({ code: 'ECONNRESET', message: expect.stringMatching(/cut short/) });
});

test('no server: the system error code (the adapter tells "never sent" by it)', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await expect(httpFetch(`http://127.0.0.1:${port}/api/v1/register`, { method: 'POST', body: '' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

test('bad input is refused before anything is sent', async () => {
  await expect(httpFetch('ftp://zulip.example.org/api')).rejects.toThrow(/only http and https/);
  await expect(httpFetch('not a url')).rejects.toThrow();
  await expect(httpFetch(`${base}/x`, { method: 'POST', body: { a: 1 } as unknown as string })).rejects.toThrow(/string or URLSearchParams/);
});
