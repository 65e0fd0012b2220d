import { Writable } from 'node:stream';
import { createLogger } from './log';

test('API keys, tokens and passwords never reach the logs', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger('info', sink as unknown as Parameters<typeof createLogger>[1]);
  log.info({ config: { zulip: { site: 'https://c.org', apiKey: 'zulip-secret-1' }, zabbix: { token: 'zabbix-secret-2' } } }, 'starting');
  log.info({ apiKey: 'zulip-secret-3', token: 'zabbix-secret-4', password: 'pw-5', headers: { authorization: 'Basic c2VjcmV0' } }, 'request');
  log.warn({ err: { request: { token: 'zabbix-secret-6' } } }, 'failed');
  const out = lines.join('');
  for (const secret of ['zulip-secret-1', 'zabbix-secret-2', 'zulip-secret-3', 'zabbix-secret-4', 'pw-5', 'c2VjcmV0', 'zabbix-secret-6']) expect(out).not.toContain(secret);
  expect(out).toContain('[redacted]');
  expect(out).toContain('https://c.org');
});
