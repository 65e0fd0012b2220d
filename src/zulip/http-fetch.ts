/**
 * The fetch zulip-js calls (its lib/helper.js `fetch`), on Node's http/https directly.
 *
 * zulip-js brings node-fetch 2 (through isomorphic-fetch): per request it builds Headers, Body
 * and stream objects, a PassThrough for the answer, and checks the body's type by duck-typing
 * (traced at rest: zulip-js's call → the request on the socket 0.31 ms with it, 0.24 ms with this;
 * BENCHMARKS.md). zulip-js uses little of fetch: `fetch(url, { method, headers: { Authorization },
 * body })` with the body a form (URLSearchParams here, see zulip-js-api.ts) or none, and of the
 * answer `json()`, `status` and `url`. This does that and no more:
 * - the connection: Node's global agent (keep-alive, as node-fetch had it) or the `agent` given
 *   (the adapter's for `insecure` / a CA bundle);
 * - answers compressed with gzip, deflate or br are inflated (asked for, as node-fetch did);
 * - a redirect is not followed: Zulip's API does not redirect, a server that does is configured
 *   for another address (http→https, a moved realm), and it is said so with the address;
 * - an answer cut short (connection closed mid-body) or a connection error rejects with the
 *   system error (`code` ECONNREFUSED, ECONNRESET, …) as node-fetch's FetchError carried it;
 * - `json()` on a body that is not JSON (a proxy's HTML 502) throws an error with the status and
 *   the start of the body.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';

export interface HttpFetchInit {
  method?: string;
  headers?: Record<string, string>;
  /** A form (sent url-encoded), a string, or none. */
  body?: URLSearchParams | string | null;
  agent?: http.Agent;
}

export interface HttpFetchResponse {
  status: number;
  ok: boolean;
  url: string;
  headers: http.IncomingHttpHeaders;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export const USER_AGENT = 'ZulipSreBot/1.0';

function inflate(res: http.IncomingMessage): Readable {
  switch (String(res.headers['content-encoding'] ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return res.pipe(zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    case 'deflate':
      return res.pipe(zlib.createInflate());
    case 'br':
      return res.pipe(zlib.createBrotliDecompress());
    default:
      return res;
  }
}

/** Where a request goes, parsed once per origin (zulip-js gives every request as a whole URL). */
interface Origin {
  secure: boolean;
  hostname: string;
  port: number;
  /** The Host header: the authority as written, with a port only when it is not the default. */
  host: string;
}
const origins = new Map<string, Origin>();

function originOf(origin: string): Origin {
  let o = origins.get(origin);
  if (o) return o;
  const u = new URL(origin); // throws on a malformed address
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`only http and https addresses are supported: ${origin}`);
  const secure = u.protocol === 'https:';
  o = { secure, hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : secure ? 443 : 80, host: u.host };
  if (origins.size > 32) origins.clear();
  origins.set(origin, o);
  return o;
}

export function httpFetch(url: string, init: HttpFetchInit = {}): Promise<HttpFetchResponse> {
  return new Promise<HttpFetchResponse>((resolve, reject) => {
    // The origin parsed once; the path (already encoded: zulip-js gives URL.href) as it is.
    const split = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^#]*)/i.exec(url);
    let target: Origin;
    try {
      if (!split) throw new TypeError(`not an http or https address: ${url}`);
      target = originOf(split[1] as string);
    } catch (err) {
      reject(err);
      return;
    }
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string' && !(init.body instanceof URLSearchParams)) {
      reject(new TypeError(`a request body must be a string or URLSearchParams, not ${Object.prototype.toString.call(init.body)}`));
      return;
    }
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const named: Record<string, string> = { Host: target.host, Accept: '*/*', 'Accept-Encoding': 'gzip, deflate, br', 'User-Agent': USER_AGENT, ...init.headers };
    if (body !== undefined) {
      if (init.body instanceof URLSearchParams) named['Content-Type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
      named['Content-Length'] = String(Buffer.byteLength(body));
    }
    // Headers as a flat list: node writes them as given (still checked) without building its
    // header map, and the address is not parsed again: at rest a third of the request's set-up.
    const headers: string[] = [];
    for (const name of Object.keys(named)) headers.push(name, named[name] as string);
    const options: http.RequestOptions = { hostname: target.hostname, port: target.port, path: (split as RegExpExecArray)[2] || '/', method: init.method ?? 'GET', headers: headers as unknown as http.OutgoingHttpHeaders, ...(init.agent ? { agent: init.agent } : {}) };
    const req = (target.secure ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        let to: string;
        try {
          to = new URL(res.headers.location, url).href;
        } catch {
          to = String(res.headers.location); // not an address at all: said as it came (a throw here would escape the request)
        }
        reject(Object.assign(new Error(`${options.method} ${url} was redirected (${status}) to ${to}: the server is configured for another address; set the site to it`), { code: 'REDIRECTED', status }));
        return;
      }
      const stream = inflate(res);
      const chunks: Buffer[] = [];
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      // Closed before the whole body came (node-fetch's "Premature close").
      const cutShort = (): void => fail(Object.assign(new Error(`the answer to ${options.method} ${url} was cut short (connection closed)`), { code: 'ECONNRESET' }));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', cutShort);
      if (stream !== res) stream.on('error', fail); // not inflatable
      res.on('close', () => {
        if (!res.complete) cutShort();
      });
      stream.on('end', () => {
        if (settled) return;
        settled = true;
        const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
        resolve({
          status,
          ok: status >= 200 && status < 300,
          url,
          headers: res.headers,
          text: () => Promise.resolve(text),
          json: () => {
            try {
              return Promise.resolve(JSON.parse(text) as unknown);
            } catch {
              const start = text.slice(0, 120).replace(/\s+/g, ' ');
              return Promise.reject(Object.assign(new Error(`answer ${status} to ${options.method} ${url} is not JSON: ${start}`), { code: 'INVALID_JSON', status }));
            }
          },
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
