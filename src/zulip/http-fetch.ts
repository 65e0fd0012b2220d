/**
 * The fetch zulip-js calls (its lib/helper.js `fetch`), on Node's http/https directly.
 *
 * zulip-js brings node-fetch 2 (through isomorphic-fetch): per request it builds Headers, Body
 * and stream objects, a PassThrough for the answer, and checks the body's type by duck-typing;
 * at rest that is ≈ 0.2 ms of the 0.3 ms between zulip-js's call and the request on the socket,
 * on every reply. zulip-js uses little of fetch: `fetch(url, { method, headers: { Authorization },
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

export function httpFetch(url: string, init: HttpFetchInit = {}): Promise<HttpFetchResponse> {
  return new Promise<HttpFetchResponse>((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      reject(err);
      return;
    }
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new Error(`only http and https addresses are supported: ${url}`));
      return;
    }
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string' && !(init.body instanceof URLSearchParams)) {
      reject(new TypeError(`a request body must be a string or URLSearchParams, not ${Object.prototype.toString.call(init.body)}`));
      return;
    }
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const headers: Record<string, string | number> = { Accept: '*/*', 'Accept-Encoding': 'gzip, deflate, br', 'User-Agent': USER_AGENT, ...init.headers };
    if (body !== undefined) {
      if (init.body instanceof URLSearchParams) headers['Content-Type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const options: http.RequestOptions = { method: init.method ?? 'GET', headers, ...(init.agent ? { agent: init.agent } : {}) };
    const req = (secure ? https : http).request(target, options, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        const to = new URL(res.headers.location, target).href;
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
