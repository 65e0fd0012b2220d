import { ZulipError } from '../zulip/api';
import { checkZabbixOnline, credentialsRefused, formatCheck, matchStreams } from './preflight';

const streams = { critical: 'SRE # Critical', nonCritical: 'SRE ## Non-critical', informational: 'SRE ### Informational', general: 'SRE - General', organisational: 'Organisational' };
const site = 'https://chat.example.org';

test('a 401 or 403 (or Zulip\'s codes for it) refuses the credentials; outages do not', () => {
  const refused = credentialsRefused(new ZulipError('api', 'GET /users/me', 'Invalid API key', 'INVALID_API_KEY', undefined, { status: 401 }), site, 'bot@x.org');
  expect(refused).toBe("Zulip at https://chat.example.org refused the bot's credentials (Invalid API key, HTTP 401, INVALID_API_KEY): check the bot's email (bot@x.org) and API key (zulip.apiKey, ZULIP_API_KEY or the zuliprc's key)");
  expect(credentialsRefused(new ZulipError('api', 'GET /users/me', 'Account is deactivated', 'USER_DEACTIVATED', undefined, { status: 401 }), site, 'b')).toMatch(/USER_DEACTIVATED/);
  expect(credentialsRefused(new ZulipError('api', 'GET /users/me', 'Forbidden', undefined, undefined, { status: 403 }), site, 'b')).toMatch(/HTTP 403/);
  for (const passing of [
    new ZulipError('network', 'GET /users/me', 'ECONNREFUSED'),
    new ZulipError('timeout', 'GET /users/me', 'no answer'),
    new ZulipError('api', 'GET /users/me', 'Internal error', undefined, undefined, { status: 502 }),
    new ZulipError('api', 'GET /users/me', 'rate limited', 'RATE_LIMIT_HIT', 3, { status: 429 }),
    new Error('boom'),
  ]) expect(credentialsRefused(passing, site, 'b')).toBeUndefined();
});

test('streams: each configured one found, or named with the likely one meant', () => {
  const visible = ['SRE # Critical', 'SRE ## Non-critical', 'sre ### informational', 'SRE - General', 'random'];
  const checks = matchStreams({ streams: { ...streams, organisational: 'Organisation' } }, visible, site);
  expect(checks.filter((c) => c.ok).map((c) => c.key)).toEqual(['streams.critical', 'streams.nonCritical', 'streams.general']);
  expect(checks.find((c) => c.key === 'streams.informational')?.detail).toBe(`stream "SRE ### Informational" does not exist on ${site}, or is private and the bot is not subscribed to it; did you mean "sre ### informational"?`);
  expect(checks.find((c) => c.key === 'streams.organisational')?.detail).toBe(`stream "Organisation" does not exist on ${site}, or is private and the bot is not subscribed to it`);
  expect(formatCheck({ ok: true, text: 'a' })).toBe('✓ a');
  expect(formatCheck({ ok: false, text: 'b' })).toBe('✗ b');
});

test('Zabbix online: the version, then the token', async () => {
  expect(await checkZabbixOnline({ version: async () => '6.0.14', problems: async () => [] }, 'https://z.example.org')).toEqual([
    { ok: true, text: 'zabbix.url: Zabbix API 6.0.14 answers at https://z.example.org' },
    { ok: true, text: 'zabbix.token: accepted (problem.get answered)' },
  ]);
  const refused = await checkZabbixOnline({ version: async () => '6.0.14', problems: async () => Promise.reject(new Error('Not authorised.')) }, 'https://z.example.org');
  expect(refused[1]).toEqual({ ok: false, text: 'zabbix.token: refused or unusable: Not authorised.' });
  expect(await checkZabbixOnline({ version: async () => Promise.reject(new Error('ECONNREFUSED')), problems: async () => [] }, 'https://z.example.org')).toEqual([
    { ok: false, text: 'zabbix.url: no Zabbix API at https://z.example.org: ECONNREFUSED' },
  ]);
});
