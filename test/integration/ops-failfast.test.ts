/**
 * What a service owner meets at start (issue 20), on the built bot as a process against the fake
 * Zulip: permanent errors stop it at once with exit code 2 and one line naming the problem
 * (credentials Zulip refuses, a bad cron expression, a missing stream, each zuliprc problem, an
 * unknown flag); an outage is waited out with /healthz saying so; --help and --version;
 * `--check-config --online`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BotProcess, MAIN, ROOT, STREAMS, startWorld, stopWorld, type Running, type World } from '../support/bot-process';
import { tempDir } from '../support/temp';

jest.setTimeout(60_000);

let r: Partial<Running> = {};
afterEach(async () => {
  await stopWorld(r);
  r = {};
});

/** A fake Zulip with the team, no bot running. */
async function world(config: Record<string, unknown> = {}): Promise<World> {
  r = await startWorld(config, { startBot: false });
  return r.w as World;
}

/** Writes this config (with the alert sender) into the world's dir; returns its path. */
function configFile(w: World, name: string, config: Record<string, unknown>): string {
  const path = join(w.dir, name);
  writeFileSync(path, JSON.stringify({ alerts: { senders: [w.zabbix.email] }, store: { path: join(w.dir, `${name}.db`) }, log: { level: 'debug' }, ...config }, null, 2));
  return path;
}

/** Runs the bot to its end (it must stop by itself), with `args` after `--config path`. */
async function runToEnd(path: string, env: Record<string, string> = {}, args: string[] = []): Promise<{ code: number | null; output: string[] }> {
  const bot = BotProcess.start(path, env, args);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([bot.exitCode(), new Promise<'hung'>((res) => (timer = setTimeout(() => res('hung'), 20_000)))]);
  clearTimeout(timer);
  if (code === 'hung') {
    await bot.kill();
    throw new Error(`the bot did not stop by itself; last lines:\n${bot.output.slice(-10).join('\n')}`);
  }
  return { code, output: bot.output };
}

/** The lines that are not JSON log lines: what a person reads on the terminal. */
const plain = (output: string[]) => output.filter((l) => !l.startsWith('{'));

const creds = (w: World) => ({ site: w.fake.url, email: w.bot.email, apiKey: w.bot.apiKey });

test('credentials Zulip refuses stop the start: exit 2, one line naming them', async () => {
  const w = await world();
  const path = configFile(w, 'bad-key.json', { zulip: { ...creds(w), apiKey: 'not-the-key' } });
  const { code, output } = await runToEnd(path);
  expect(code).toBe(2);
  expect(plain(output)).toEqual([
    `fatal: Zulip at ${w.fake.url} refused the bot's credentials (Invalid API key, HTTP 401, INVALID_API_KEY): check the bot's email (${w.bot.email}) and API key (zulip.apiKey, ZULIP_API_KEY or the zuliprc's key)`,
  ]);
  // Asked once, not retried.
  expect(w.fake.requests.filter((q) => q.path.endsWith('/users/me'))).toHaveLength(1);
  expect(w.fake.messages()).toEqual([]);
});

test('an outage is waited out: /healthz answers 503 "starting" with the reason from the first moment; SIGTERM then stops it (exit 0)', async () => {
  const w = await world();
  w.fake.failNext(1000, { status: 502, path: /\/users\/me$/ });
  const path = configFile(w, 'outage.json', { zulip: creds(w), http: { port: 0 } });
  const bot = BotProcess.start(path);
  r.bot = bot;
  const port = Number((await bot.waitForLog((l) => String(l.msg ?? '').startsWith('http listening'))).port);
  await bot.waitForLog((l) => l.msg === 'cannot reach Zulip yet');
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(res.status).toBe(503);
  const body = (await res.json()) as { ok: boolean; status: string; reason: string };
  expect(body).toMatchObject({ ok: false, status: 'starting' });
  expect(body.reason).toMatch(/^cannot reach Zulip yet: GET \/users\/me: /);
  expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  const started = Date.now();
  expect(await bot.kill('SIGTERM')).toBe(0);
  expect(Date.now() - started).toBeLessThan(3_000);
  r.bot = undefined;
});

test('a bad cron expression is a config error (exit 2 naming it), for --check-config and for a start', async () => {
  const w = await world();
  const path = configFile(w, 'cron.json', { zulip: creds(w), reports: { weeklyCron: '61 9 * * 1' } });
  const line = 'config error: reports.weeklyCron: expected a cron expression like "0 9 * * 1" (minute hour day-of-month month weekday, optionally seconds first); "61" is not a valid minute (0-59)';
  for (const args of [['--check-config'], []]) {
    const { code, output } = await runToEnd(path, {}, args);
    expect(code).toBe(2);
    expect(output).toEqual([line]);
  }
  const fields = configFile(w, 'cron2.json', { zulip: creds(w), reports: { weeklyCron: '0 9 * *' } });
  expect((await runToEnd(fields, {}, ['--check-config'])).output).toEqual([
    'config error: reports.weeklyCron: expected a cron expression like "0 9 * * 1" (minute hour day-of-month month weekday, optionally seconds first); got 4 fields in "0 9 * *"',
  ]);
  expect(w.fake.requests).toEqual([]);
});

test('a configured stream that does not exist stops the start: exit 2, the key, the name and the likely one', async () => {
  const w = await world();
  const path = configFile(w, 'stream.json', { zulip: creds(w), streams: { critical: 'SRE # Critcal' } });
  const { code, output } = await runToEnd(path);
  expect(code).toBe(2);
  expect(plain(output)).toEqual([
    `fatal: streams.critical: stream "SRE # Critcal" does not exist on ${w.fake.url}, or is private and the bot is not subscribed to it; did you mean "${STREAMS.critical}"?`,
  ]);
  expect(w.fake.messages()).toEqual([]);
});

describe('zuliprc', () => {
  const rc = (w: World, site = w.fake.url, key = w.bot.apiKey) => `# the bot's zuliprc\n[api]\nemail=${w.bot.email}\nkey=${key}\nsite=${site}\n`;

  test('a missing file: exit 2 naming it', async () => {
    const w = await world();
    const path = configFile(w, 'rc-missing.json', { zulip: { zuliprc: join(w.dir, 'nope.zuliprc') } });
    const { code, output } = await runToEnd(path);
    expect(code).toBe(2);
    expect(output).toEqual([`config error: zulip.zuliprc: cannot read ${join(w.dir, 'nope.zuliprc')}: no such file`]);
  });

  test('no [api] section: exit 2 naming it', async () => {
    const w = await world();
    writeFileSync(join(w.dir, 'zuliprc'), `[zulip]\nemail=${w.bot.email}\n`);
    const path = configFile(w, 'rc-noapi.json', { zulip: { zuliprc: join(w.dir, 'zuliprc') } });
    const { code, output } = await runToEnd(path, {}, ['--check-config']);
    expect(code).toBe(2);
    expect(output).toEqual([`config error: zulip.zuliprc: ${join(w.dir, 'zuliprc')} has no [api] section (a zuliprc has [api] with email, key and site)`]);
  });

  test('a ~ path is read from $HOME, and the bot runs on it', async () => {
    const w = await world();
    const home = tempDir('sre-bot-home-');
    mkdirSync(join(home, '.config'));
    writeFileSync(join(home, '.config', 'zuliprc'), rc(w));
    const path = configFile(w, 'rc-home.json', { zulip: { zuliprc: '~/.config/zuliprc' } });
    const bot = BotProcess.start(path, { HOME: home });
    r.bot = bot;
    await bot.live();
  });

  test('a site with a trailing slash works; a site without a scheme gets https://', async () => {
    const w = await world();
    writeFileSync(join(w.dir, 'slash.zuliprc'), rc(w, `${w.fake.url}/`));
    const slash = configFile(w, 'rc-slash.json', { zulip: { zuliprc: join(w.dir, 'slash.zuliprc') } });
    const ok = await runToEnd(slash, {}, ['--check-config', '--online']);
    expect(ok.output).toContain(`✓ zulip: logged in to ${w.fake.url} as SRE Bot <${w.bot.email}> (user ${w.bot.id}, a bot)`);
    expect(ok.code).toBe(0);
    const bare = w.fake.url.replace(/^http:\/\//, '');
    writeFileSync(join(w.dir, 'bare.zuliprc'), rc(w, bare));
    const noScheme = configFile(w, 'rc-bare.json', { zulip: { zuliprc: join(w.dir, 'bare.zuliprc') } });
    const tls = await runToEnd(noScheme, {}, ['--check-config', '--online']);
    expect(tls.code).toBe(2);
    expect(tls.output.find((l) => l.startsWith('✗ zulip:'))).toMatch(new RegExp(`^✗ zulip: cannot reach Zulip at https://${bare.replace(/\./g, '\\.')}: `));
  });

  test('ZULIP_API_KEY overrides the zuliprc\'s key; ZULIP_CONFIG names the zuliprc', async () => {
    const w = await world();
    writeFileSync(join(w.dir, 'stale.zuliprc'), rc(w, w.fake.url, 'an-old-key'));
    const path = configFile(w, 'rc-env.json', {});
    const bot = BotProcess.start(path, { ZULIP_CONFIG: join(w.dir, 'stale.zuliprc'), ZULIP_API_KEY: w.bot.apiKey });
    r.bot = bot;
    await bot.live();
  });
});

test('an unknown flag: exit 2, one line, nothing started', async () => {
  const w = await world();
  const path = configFile(w, 'flag.json', { zulip: creds(w) });
  const { code, output } = await runToEnd(path, {}, ['--chek-config']);
  expect(code).toBe(2);
  expect(output).toEqual(['error: unknown option --chek-config (did you mean --check-config?); see --help']);
  expect(w.fake.requests).toEqual([]);
});

test('--help and --version exit 0', () => {
  const help = spawnSync(process.execPath, [MAIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: zulip-sre-bot --config FILE/);
  expect(help.stdout).toContain('--check-config');
  const version = spawnSync(process.execPath, [MAIN, '--version'], { cwd: ROOT, encoding: 'utf8' });
  expect(version.status).toBe(0);
  expect(version.stdout).toMatch(/^zulip-sre-bot \d+\.\d+\.\d+\n$/);
});

test('--check-config --online: one line per check, exit 2 when a stream is missing', async () => {
  const w = await world();
  const path = configFile(w, 'online.json', { zulip: creds(w), streams: { organisational: 'Organisation' } });
  const { code, output } = await runToEnd(path, {}, ['--check-config', '--online']);
  process.stdout.write(`\n--- --check-config --online against the fake Zulip, one stream missing (exit ${code}) ---\n${output.join('\n').replaceAll(w.fake.url, 'http://127.0.0.1:PORT').replaceAll(w.dir, 'DIR')}\n`);
  expect(code).toBe(2);
  expect(output).toEqual([
    `✓ config: ${path} is valid`,
    `✓ zulip: logged in to ${w.fake.url} as SRE Bot <${w.bot.email}> (user ${w.bot.id}, a bot)`,
    `✓ streams.critical: "${STREAMS.critical}" exists; the bot can read it`,
    `✓ streams.nonCritical: "${STREAMS.nonCritical}" exists; the bot can read it`,
    `✓ streams.informational: "${STREAMS.informational}" exists; the bot can read it`,
    `✓ streams.general: "${STREAMS.general}" exists; the bot can read it`,
    `✗ streams.organisational: stream "Organisation" does not exist on ${w.fake.url}, or is private and the bot is not subscribed to it; did you mean "${STREAMS.organisational}"?`,
    'config error: 1 of 7 online checks failed',
  ]);
  expect(w.fake.messages()).toEqual([]);
});
