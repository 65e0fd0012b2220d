import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configPathFrom, loadConfig, validateConfig } from './load';
import { formatDuration } from '../domain/duration';
import { parseDuration } from '../domain/duration';

const minimal = { zulip: { site: 'https://chat.example.org', email: 'bot@x.org', apiKey: 'k' }, alerts: { senders: ['zabbix@x.org'] } };

function errorsOf(raw: unknown, env = {}): string[] {
  const r = validateConfig(raw, env);
  if (r.ok) throw new Error('expected invalid config');
  return r.errors;
}

describe('durations', () => {
  test.each([
    ['1s', 1000],
    ['30s', 30_000],
    ['15m', 900_000],
    ['8h', 28_800_000],
    ['7d', 604_800_000],
    ['1w', 604_800_000],
    [' 2h ', 7_200_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', '1', 'h', '1 h', '1.5h', '-1h', '0s', '1y', '1hour', '1H', '10000000000s'])('%j is not a duration', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  test.each([
    [5_000, '5s'],
    [120_000, '2m'],
    [3_900_000, '1h 05m'],
    [93_600_000, '1d 2h'],
    [691_200_000, '1w 1d'],
    [-120_000, '-2m'],
  ])('formats %d ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('config validation', () => {
  test('a minimal config gets the team process defaults', () => {
    const r = validateConfig(minimal);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.sla.critical).toEqual({ remindEvery: 3_600_000, resolveWithin: 16 * 3_600_000 });
    expect(r.config.sla.nonCritical).toEqual({ remindEvery: 8 * 3_600_000, ackWithin: 9 * 3_600_000, resolveWithin: 7 * 86_400_000 });
    expect(r.config.sla.informational).toEqual({ remindEvery: 8 * 3_600_000, ackWithin: 72 * 3_600_000 });
    expect(r.config.streams.critical).toBe('SRE # Critical');
    expect(r.config.streams.nonCritical).toBe('SRE ## Non-critical');
    expect(r.config.streams.informational).toBe('SRE ### Informational');
    expect(r.config.http.port).toBeUndefined();
    expect(r.config.zulip.site).toBe('https://chat.example.org');
  });

  test('the example config file is valid', () => {
    const raw = JSON.parse(readFileSync(join(__dirname, '../../bot.config.example.json'), 'utf8'));
    expect(validateConfig(raw).ok).toBe(true);
  });

  test('a bad duration names its key path with the contract wording', () => {
    expect(errorsOf({ ...minimal, sla: { critical: { remindEvery: '1 hour' } } })).toEqual([
      'sla.critical.remindEvery: expected a duration like "1h" (got "1 hour")',
    ]);
    expect(errorsOf({ ...minimal, sla: { nonCritical: { ackWithin: 9 } } })).toEqual(['sla.nonCritical.ackWithin: expected a duration like "1h"']);
  });

  test('every problem is reported, one line each', () => {
    const errors = errorsOf({ zulip: { site: 'ftp://x' }, alerts: { senders: ['not-an-email'] }, http: { port: 70000 }, extra: true });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^zulip\.site: /),
        expect.stringMatching(/^zulip\.email: required/),
        expect.stringMatching(/^zulip\.apiKey: required/),
        'alerts.senders.0: expected an email address',
        expect.stringMatching(/^http\.port: /),
        'extra: unknown key',
      ]),
    );
    expect(errors.every((e) => !e.includes('\n'))).toBe(true);
  });

  test('missing alerts section is named', () => {
    expect(errorsOf({ zulip: minimal.zulip })).toEqual([expect.stringMatching(/^alerts: /)]);
  });

  test('secrets come from the environment', () => {
    const r = validateConfig({ ...minimal, zulip: { site: 'https://c.org', email: 'b@c.org' }, zabbix: { url: 'https://z.org' } }, { ZULIP_API_KEY: 'from-env', ZABBIX_TOKEN: 'tok' });
    expect(r.ok && r.config.zulip.apiKey).toBe('from-env');
    expect(r.ok && r.config.zabbix.token).toBe('tok');
  });

  test('a zuliprc file replaces site/email/apiKey', () => {
    expect(validateConfig({ zulip: { zuliprc: '/etc/zuliprc' }, alerts: minimal.alerts }).ok).toBe(true);
  });

  test('--config is required, the file must exist and be JSON', () => {
    const read = (p: string) => {
      if (p === 'good.json') return JSON.stringify(minimal);
      if (p === 'bad.json') return '{ nope';
      throw new Error('ENOENT: no such file');
    };
    expect(loadConfig({ argv: [], env: {}, readFile: read })).toEqual({ ok: false, errors: [expect.stringMatching(/^--config: missing/)] });
    expect(loadConfig({ argv: ['--config', 'gone.json'], env: {}, readFile: read })).toEqual({ ok: false, errors: [expect.stringMatching(/^--config: cannot read gone.json/)] });
    expect(loadConfig({ argv: ['--config=bad.json'], env: {}, readFile: read })).toEqual({ ok: false, errors: [expect.stringMatching(/not valid JSON/)] });
    expect(loadConfig({ argv: ['--config', 'good.json'], env: {}, readFile: read }).ok).toBe(true);
    expect(validateConfig([1, 2])).toEqual({ ok: false, errors: ['(root): expected a JSON object'] });
    expect(configPathFrom(['x', '--config', 'a.json'])).toBe('a.json');
  });
});
