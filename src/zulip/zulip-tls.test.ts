/** A zuliprc's `insecure` and `cert_bundle` (src/config/zuliprc.ts) reach zulip-js's requests: createZulipJsApi's TLS options. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZulipJsApi } from './zulip-js-api';

let dir: string;
let server: https.Server;
let site: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sre-bot-tls-'));
  // A self-signed certificate for 127.0.0.1: no system CA trusts it.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'success', msg: '', user_id: 7, email: 'bot@x.org', full_name: 'TLS Bot', is_bot: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  site = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('a self-signed server is refused by default', async () => {
  const api = await createZulipJsApi({ site, email: 'bot@x.org', apiKey: 'k' });
  await expect(api.me()).rejects.toThrow(/self.signed|certificate/i);
});

test('insecure: the certificate is not verified', async () => {
  const api = await createZulipJsApi({ site, email: 'bot@x.org', apiKey: 'k', insecure: true });
  expect(await api.me()).toEqual({ id: 7, email: 'bot@x.org', fullName: 'TLS Bot', isBot: true });
});

test('cert_bundle: the certificate is verified against it', async () => {
  const api = await createZulipJsApi({ site, email: 'bot@x.org', apiKey: 'k', certBundle: join(dir, 'cert.pem') });
  expect((await api.me()).fullName).toBe('TLS Bot');
});
