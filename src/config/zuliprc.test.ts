import { loadConfig, validateConfig } from './load';
import { expandHome, iniValue, normaliseSite, parseIni, resolveZulip, zulipFromEnv, type ZuliprcFiles } from './zuliprc';

/** An in-memory file system: path → content (a directory: null). */
function filesOf(tree: Record<string, string | null>, home = '/home/sre', cwd = '/srv/bot'): ZuliprcFiles {
  return {
    home,
    cwd,
    exists: (p) => p in tree,
    readFile: (p) => {
      const v = tree[p];
      if (v === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
      if (v === null) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read`), { code: 'EISDIR' });
      return v;
    },
  };
}

const RC = '[api]\nemail = bot@chat.example.org\nkey = rc-key\nsite = https://chat.example.org\n';
const senders = { alerts: { senders: ['zabbix@x.org'] } };

/** loadConfig on a bot.config.json with this zulip section (and the alert senders). */
function load(zulip: Record<string, unknown> | undefined, tree: Record<string, string | null>, env: Record<string, string> = {}) {
  const config = JSON.stringify({ ...(zulip ? { zulip } : {}), ...senders });
  return loadConfig({ argv: [], path: '/srv/bot/bot.config.json', env, readFile: (p) => (p === '/srv/bot/bot.config.json' ? config : filesOf(tree).readFile(p)), files: filesOf(tree) });
}

function zulipOf(r: ReturnType<typeof load>) {
  if (!r.ok) throw new Error(`expected a valid config, got:\n${r.errors.join('\n')}`);
  const { site, email, apiKey, insecure, certBundle, zuliprc } = r.config.zulip;
  return { site, email, apiKey, insecure, certBundle, zuliprc };
}

function errorsOf(r: ReturnType<typeof load>): string[] {
  if (r.ok) throw new Error('expected errors');
  return r.errors;
}

describe('the ini format (Python configparser)', () => {
  test('sections, = and :, comments, case of keys, continuation lines, [DEFAULT], interpolation', () => {
    const ini = parseIni('# a comment\n; another\n[DEFAULT]\nhost = chat.example.org\n\n[api]\nEmail: bot@x.org\nkey=  abc%%def  \nsite = https://%(host)s\nnote = one\n  two\n');
    expect(iniValue(ini, 'api', 'email')).toBe('bot@x.org');
    expect(iniValue(ini, 'api', 'key')).toBe('abc%def');
    expect(iniValue(ini, 'api', 'site')).toBe('https://chat.example.org');
    expect(iniValue(ini, 'api', 'note')).toBe('one\ntwo');
    expect(iniValue(ini, 'api', 'missing')).toBeUndefined();
  });

  test.each([
    ['key = x\n[api]\n', /line 1: a value before any \[section\] header/],
    ['[api]\n[api]\n', /line 2: section \[api\] appears twice/],
    ['[api]\nkey = a\nKEY = b\n', /line 3: "key" is set twice/],
    ['[api]\njust words\n', /line 2: expected "key = value"/],
  ])('%j is refused', (text, message) => expect(() => parseIni(text)).toThrow(message));

  test('a lone % is refused, as configparser does', () => {
    expect(() => iniValue(parseIni('[api]\nkey = 50%\n'), 'api', 'key')).toThrow(/a lone "%"/);
  });
});

describe('values', () => {
  test('~ expansion', () => {
    expect(expandHome('~/.zuliprc', '/home/sre')).toBe('/home/sre/.zuliprc');
    expect(expandHome('~', '/home/sre')).toBe('/home/sre');
    expect(expandHome('/etc/zuliprc', '/home/sre')).toBe('/etc/zuliprc');
    expect(expandHome('~/.zuliprc', undefined)).toBe('~/.zuliprc');
  });

  test.each([
    ['chat.example.org', 'https://chat.example.org'],
    ['chat.example.org/', 'https://chat.example.org'],
    ['https://chat.example.org///', 'https://chat.example.org'],
    ['http://chat.example.org/', 'http://chat.example.org'],
    ['localhost:9991', 'http://localhost:9991'],
    ['https://example.org/zulip/', 'https://example.org/zulip'],
  ])('site %j is %j', (given, site) => expect(normaliseSite(given)).toEqual({ site }));

  test.each(['ftp://chat.example.org', 'https://', 'exa mple'])('site %j is refused', (given) => expect(normaliseSite(given)).toHaveProperty('error'));
});

describe('a zuliprc (zulip.zuliprc)', () => {
  test('gives email, key and site', () => {
    expect(zulipOf(load({ zuliprc: '/etc/sre-bot/zuliprc' }, { '/etc/sre-bot/zuliprc': RC }))).toEqual({
      site: 'https://chat.example.org', email: 'bot@chat.example.org', apiKey: 'rc-key', insecure: false, certBundle: undefined, zuliprc: '/etc/sre-bot/zuliprc',
    });
  });

  test('a missing file is named, with exit-2 wording', () => {
    expect(errorsOf(load({ zuliprc: '/etc/sre-bot/zuliprc' }, {}))).toEqual(['zulip.zuliprc: cannot read /etc/sre-bot/zuliprc: no such file']);
    expect(errorsOf(load({ zuliprc: '/etc/sre-bot' }, { '/etc/sre-bot': null }))).toEqual(['zulip.zuliprc: cannot read /etc/sre-bot: it is a directory']);
  });

  test('a file without an [api] section is named', () => {
    expect(errorsOf(load({ zuliprc: '/etc/zuliprc' }, { '/etc/zuliprc': '[zulip]\nkey = x\n' }))).toEqual([
      'zulip.zuliprc: /etc/zuliprc has no [api] section (a zuliprc has [api] with email, key and site)',
    ]);
    expect(errorsOf(load({ zuliprc: '/etc/zuliprc' }, { '/etc/zuliprc': 'key = x\n' }))).toEqual([
      'zulip.zuliprc: /etc/zuliprc: line 1: a value before any [section] header (expected [api] first)',
    ]);
  });

  test('a ~ path is the home directory; a relative path is taken from the working directory', () => {
    expect(zulipOf(load({ zuliprc: '~/.config/zuliprc' }, { '/home/sre/.config/zuliprc': RC })).zuliprc).toBe('/home/sre/.config/zuliprc');
    expect(zulipOf(load({ zuliprc: 'zuliprc' }, { '/srv/bot/zuliprc': RC })).zuliprc).toBe('/srv/bot/zuliprc');
    expect(errorsOf(load({ zuliprc: '~/nope' }, {}))).toEqual(['zulip.zuliprc: cannot read ~/nope (/home/sre/nope): no such file']);
  });

  test('a site without a scheme gets https://, localhost http://', () => {
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': '[api]\nemail=b@x.org\nkey=k\nsite=chat.example.org\n' })).site).toBe('https://chat.example.org');
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': '[api]\nemail=b@x.org\nkey=k\nsite=localhost:9991\n' })).site).toBe('http://localhost:9991');
  });

  test('a trailing slash is stripped', () => {
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': '[api]\nemail=b@x.org\nkey=k\nsite=https://chat.example.org/\n' })).site).toBe('https://chat.example.org');
  });

  test('a value the file lacks is named', () => {
    expect(errorsOf(load({ zuliprc: '/z' }, { '/z': '[api]\nemail=b@x.org\nsite=chat.example.org\n' }))).toEqual([
      'zulip.apiKey: required (or set ZULIP_API_KEY, or give zulip.zuliprc) (not in /z either)',
    ]);
  });

  test('insecure and cert_bundle', () => {
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': `${RC}insecure = True\n` })).insecure).toBe(true);
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': `${RC}cert_bundle = /etc/ssl/zulip.pem\n`, '/etc/ssl/zulip.pem': 'PEM' })).certBundle).toBe('/etc/ssl/zulip.pem');
    expect(errorsOf(load({ zuliprc: '/z' }, { '/z': `${RC}insecure = yes\n` }))).toEqual(['zulip.zuliprc: /z: insecure is "yes"; it must be "true" or "false"']);
    expect(errorsOf(load({ zuliprc: '/z' }, { '/z': `${RC}cert_bundle = /nope.pem\n` }))).toEqual(['zulip.certBundle: the TLS bundle /nope.pem does not exist (cert_bundle in /z)']);
    // insecure wins over a bundle (python-zulip-api checks the bundle only when verifying).
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': `${RC}insecure = true\ncert_bundle = /nope.pem\n` })).certBundle).toBeUndefined();
  });

  test('~/.zuliprc is read when nothing else names a file', () => {
    expect(zulipOf(load(undefined, { '/home/sre/.zuliprc': RC })).apiKey).toBe('rc-key');
    expect(errorsOf(load(undefined, {}))).toEqual([
      'zulip.site: required (or set ZULIP_SITE, or give zulip.zuliprc with site in its [api] section)',
      'zulip.email: required (or set ZULIP_EMAIL, or give zulip.zuliprc)',
      'zulip.apiKey: required (or set ZULIP_API_KEY, or give zulip.zuliprc)',
    ]);
  });
});

describe('precedence: environment > bot.config.json > zuliprc', () => {
  test('ZULIP_API_KEY, ZULIP_EMAIL and ZULIP_SITE override the zuliprc', () => {
    const tree = { '/z': RC };
    expect(zulipOf(load({ zuliprc: '/z' }, tree, { ZULIP_API_KEY: 'env-key' })).apiKey).toBe('env-key');
    expect(zulipOf(load({ zuliprc: '/z' }, tree, { ZULIP_EMAIL: 'other@x.org', ZULIP_SITE: 'other.example.org/' }))).toMatchObject({ email: 'other@x.org', site: 'https://other.example.org', apiKey: 'rc-key' });
  });

  test('bot.config.json overrides the zuliprc; the environment overrides bot.config.json', () => {
    const tree = { '/z': RC };
    expect(zulipOf(load({ zuliprc: '/z', apiKey: 'json-key' }, tree)).apiKey).toBe('json-key');
    expect(zulipOf(load({ zuliprc: '/z', apiKey: 'json-key' }, tree, { ZULIP_API_KEY: 'env-key' })).apiKey).toBe('env-key');
    expect(zulipOf(load({ site: 'https://a.example.org', email: 'a@x.org', apiKey: 'a' }, {}, { ZULIP_SITE: 'b.example.org' })).site).toBe('https://b.example.org');
  });

  test('ZULIP_CONFIG names the zuliprc (over zulip.zuliprc); the whole bot can be configured by the environment', () => {
    expect(zulipOf(load({ zuliprc: '/json-named' }, { '/env-named': RC }, { ZULIP_CONFIG: '/env-named' })).zuliprc).toBe('/env-named');
    expect(zulipOf(load(undefined, {}, { ZULIP_EMAIL: 'e@x.org', ZULIP_API_KEY: 'k', ZULIP_SITE: 'chat.example.org' }))).toMatchObject({ site: 'https://chat.example.org', email: 'e@x.org', apiKey: 'k' });
  });

  test('ZULIP_ALLOW_INSECURE and ZULIP_CERT_BUNDLE; an empty variable counts as unset', () => {
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': RC }, { ZULIP_ALLOW_INSECURE: 'TRUE' })).insecure).toBe(true);
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': RC, '/b.pem': 'x' }, { ZULIP_CERT_BUNDLE: '/b.pem' })).certBundle).toBe('/b.pem');
    expect(errorsOf(load({ zuliprc: '/z' }, { '/z': RC }, { ZULIP_ALLOW_INSECURE: '1' }))).toEqual(['ZULIP_ALLOW_INSECURE: must be "true" or "false" (got "1")']);
    expect(zulipOf(load({ zuliprc: '/z' }, { '/z': RC }, { ZULIP_API_KEY: '' })).apiKey).toBe('rc-key');
    expect(zulipFromEnv({ ZULIP_EMAIL: '', ZULIP_SITE: 's' })).toEqual({ ok: true, value: { site: 's' } });
  });

  test('an explicitly named zuliprc must exist even when the environment gives every value', () => {
    expect(errorsOf(load({ zuliprc: '/gone' }, {}, { ZULIP_EMAIL: 'e@x.org', ZULIP_API_KEY: 'k', ZULIP_SITE: 's.org' }))).toEqual(['zulip.zuliprc: cannot read /gone: no such file']);
  });

  test('without files (the schema alone) a zuliprc is taken on trust', () => {
    expect(validateConfig({ zulip: { zuliprc: '/etc/zuliprc' }, ...senders }).ok).toBe(true);
    expect(resolveZulip({ site: 'x.org', email: 'e', apiKey: 'k' }, filesOf({}))).toEqual({ ok: true, value: { site: 'https://x.org', email: 'e', apiKey: 'k', insecure: false } });
  });
});

describe('SRE_BOT_DATA_DIR (the container image)', () => {
  test('a relative store path, the default included, is taken from it; an absolute one stays', () => {
    const zulip = { site: 'https://c.org', email: 'b@c.org', apiKey: 'k' };
    const at = (raw: Record<string, unknown>) => {
      const r = validateConfig({ zulip, ...senders, ...raw }, { SRE_BOT_DATA_DIR: '/data' });
      return r.ok ? r.config.store.path : r.errors;
    };
    expect(at({})).toBe('/data/zulip-sre-bot.db');
    expect(at({ store: { path: 'bot.db' } })).toBe('/data/bot.db');
    expect(at({ store: { path: '/var/lib/bot.db' } })).toBe('/var/lib/bot.db');
  });
});
