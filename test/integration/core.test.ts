/**
 * The real bot, as a process, against the fake Zulip server over HTTP through zulip-js.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { MAIN, ROOT, startBot as startLiveBot, startWorld, stopWorld, STREAMS, type BotProcess, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({}, { startBot: false }));
});

afterEach(async () => {
  await stopWorld({ fake, bot });
  bot = undefined;
});

async function startBot(): Promise<BotProcess> {
  bot = await startLiveBot(w.configPath);
  return bot;
}

function zabbixPosts(stream: string, host: string, a: Omit<Parameters<typeof alertPost>[0], 'host'>): FakeMessage {
  return fake.post(w.zabbix.email, stream, host, alertPost({ ...a, host }), { client: 'ZulipZabbixWebhook' });
}

/** Types a command as Ann and returns the bot's (first) answer in that topic. */
async function ask(command: string, stream: string = STREAMS.general, topic = 'bot'): Promise<FakeMessage> {
  const sent = fake.post(w.ann.email, stream, topic, command);
  return fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === topic && m.display_recipient === stream, { afterId: sent.id, timeoutMs: 10_000 });
}

/** Waits until the bot has handled a message (its log names the message id). */
function handled(b: BotProcess, messageId: number) {
  return b.waitForLog((l) => l.messageId === messageId);
}

test('an alert is listed by !ongoing; its OK removes it', async () => {
  const b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'web-01.example.org', { eventId: '1001', severity: 'High', trigger: 'HTTPS is down on web-01' });
  await handled(b, p.id);
  const answer = await ask('!ongoing');
  expect(answer.content).toContain('**Ongoing incidents: 1**');
  expect(answer.content).toMatch(/\| web-01\.example\.org \| HTTPS is down on web-01 \| \d+s \| \*\*no\*\* \| 15h 59m to resolve \| #\*\*SRE # Critical>web-01\.example\.org\*\* \|/);

  const ok = zabbixPosts(STREAMS.critical, 'web-01.example.org', { status: 'OK', eventId: '1001' });
  await handled(b, ok.id);
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
});

test('the same PROBLEM twice is listed once', async () => {
  const b = await startBot();
  zabbixPosts(STREAMS.nonCritical, 'db-01', { eventId: '2001', severity: 'Average', trigger: 'Disk space low' });
  const again = zabbixPosts(STREAMS.nonCritical, 'db-01', { eventId: '2001', severity: 'Average', trigger: 'Disk space low' });
  await handled(b, again.id);
  const answer = (await ask('!ongoing')).content;
  expect(answer).toContain('**Ongoing incidents: 1**');
  expect(answer.match(/Disk space low/g)).toHaveLength(1);
});

test('alerts posted while the bot was killed are tracked after restart, once', async () => {
  let b = await startBot();
  const first = zabbixPosts(STREAMS.critical, 'hv-01', { eventId: '3001', severity: 'Disaster', trigger: 'Hypervisor unreachable' });
  await handled(b, first.id);
  await b.kill('SIGKILL');
  zabbixPosts(STREAMS.critical, 'vm-07', { eventId: '3002', severity: 'High', trigger: 'VM down' });
  zabbixPosts(STREAMS.nonCritical, 'vm-08', { eventId: '3003', severity: 'Warning', trigger: 'Load high' });
  fake.post(w.ann.email, STREAMS.general, 'bot', 'chatter while the bot is away');
  b = await startBot();
  const answer = (await ask('!ongoing')).content;
  expect(answer).toContain('**Ongoing incidents: 3**');
  for (const t of ['Hypervisor unreachable', 'VM down', 'Load high']) expect(answer.match(new RegExp(t, 'g'))).toHaveLength(1);
  // Nothing was answered twice: exactly one bot reply per !ongoing typed.
  expect(fake.messagesBy(w.bot.email).filter((m) => m.subject === 'bot')).toHaveLength(1);
});

test('an expired event queue is replaced and alerts keep being tracked', async () => {
  const b = await startBot();
  const before = fake.queueCount();
  fake.expireAllQueues();
  const p = zabbixPosts(STREAMS.critical, 'lb-01', { eventId: '4001', trigger: 'Load balancer down' });
  await b.live();
  await handled(b, p.id);
  const p2 = zabbixPosts(STREAMS.critical, 'lb-02', { eventId: '4002', trigger: 'Second balancer down' });
  await handled(b, p2.id);
  const answer = (await ask('!ongoing')).content;
  expect(answer).toContain('Load balancer down');
  expect(answer).toContain('Second balancer down');
  expect(before).toBeGreaterThan(0);
  expect(fake.requests.some((r) => r.path.includes('/messages') && r.method === 'GET')).toBe(true);
});

test('unknown commands get "did you mean"; !help lists the commands', async () => {
  await startBot();
  expect((await ask('!ongoin', STREAMS.critical, 'web-01')).content).toBe('Unknown command `!ongoin`. Did you mean `!ongoing`? Type `!help` for the list.');
  const help = (await ask('!help')).content;
  expect(help).toContain('`!ongoing`');
  expect(help).toContain('`!help`');
});

test('posts that are not alerts are logged with the reason and not tracked; spoofed alerts are ignored', async () => {
  const b = await startBot();
  const bad = fake.post(w.zabbix.email, STREAMS.critical, 'web-02', 'PROBLEM (Catastrophic) alert on [web-02](https://z.example.org/tr_events.php?triggerid=1&eventid=2):\n* x');
  const line = await handled(b, bad.id);
  expect(line.reason).toBe('unknown severity "Catastrophic"');
  fake.post(w.bob.email, STREAMS.critical, 'web-03', alertPost({ host: 'web-03', eventId: '999' }));
  fake.post(w.zabbix.email, 'random', 'web-04', alertPost({ host: 'web-04', eventId: '998' }));
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
});

test('the bot ignores its own messages (no loop on its own replies)', async () => {
  await startBot();
  await ask('!ongoin');
  await new Promise((r) => setTimeout(r, 500));
  expect(fake.messagesBy(w.bot.email)).toHaveLength(1);
});

test('SIGTERM stops the bot with exit code 0', async () => {
  const b = await startBot();
  const code = await b.kill('SIGTERM');
  expect(code).toBe(0);
  bot = undefined;
});

test('a bad config exits 2 naming each bad key, and sends nothing', () => {
  const path = join(w.dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ zulip: { site: fake.url, email: 'x@y.org' }, alerts: { senders: [] }, sla: { critical: { remindEvery: 'soon' } } }));
  const r = spawnSync(process.execPath, [MAIN, '--config', path], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ZULIP_API_KEY: '' } });
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toEqual(
    expect.arrayContaining([
      expect.stringContaining('zulip.apiKey: required'),
      expect.stringContaining('alerts.senders: expected at least one sender email'),
      expect.stringContaining('sla.critical.remindEvery: expected a duration like "1h"'),
    ]),
  );
  expect(fake.requests).toHaveLength(0);
  const notJson = join(w.dir, 'notjson.json');
  writeFileSync(notJson, '{');
  expect(spawnSync(process.execPath, [MAIN, '--config', notJson], { encoding: 'utf8' }).status).toBe(2);
  expect(spawnSync(process.execPath, [MAIN, '--config', join(w.dir, 'missing.json')], { encoding: 'utf8' }).status).toBe(2);
});

test('server errors and 429s on sends are retried: the reply arrives, once', async () => {
  await startBot();
  fake.failNext(2, { status: 502, path: /\/api\/v1\/messages$/, method: 'POST' });
  const first = await ask('!help');
  expect(first.content).toContain('`!ongoing`');
  fake.rateLimitNext(1, 1, { path: /\/api\/v1\/messages$/ });
  const before = Date.now();
  const second = await ask('!ongoing');
  expect(second.content).toMatch(/No open incidents/);
  expect(Date.now() - before).toBeGreaterThanOrEqual(900);
  expect(fake.messagesBy(w.bot.email)).toHaveLength(2);
  expect(fake.requests.filter((r) => r.status === 502)).toHaveLength(2);
});

test('failing event polls are retried with backoff; alerts are still tracked', async () => {
  const b = await startBot();
  fake.failNext(3, { status: 503, path: /\/api\/v1\/events/ });
  fake.dropNext(1, { path: /\/api\/v1\/events/ });
  const p = zabbixPosts(STREAMS.critical, 'web-09', { eventId: '5001', trigger: 'Web down' });
  await handled(b, p.id);
  expect((await ask('!ongoing')).content).toContain('Web down');
  expect(b.logs().filter((l) => l.msg === 'Zulip events failed; retrying').length).toBeGreaterThanOrEqual(3);
});

test('a corrupt store file makes the bot exit 1 with a clear message instead of running without memory', () => {
  const path = join(w.dir, 'bot.db');
  writeFileSync(path, 'garbage, not SQLite '.repeat(500));
  const r = spawnSync(process.execPath, [MAIN, '--config', w.configPath], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/fatal: cannot open the store at .*bot\.db: /);
  expect(fake.requests).toHaveLength(0);
});

test("the bot's API key never appears in its logs", async () => {
  const b = await startBot();
  await ask('!ongoing');
  fake.failNext(1, { status: 500, path: /\/messages$/ });
  await ask('!help');
  await b.kill('SIGTERM');
  bot = undefined;
  expect(b.output.length).toBeGreaterThan(3);
  expect(b.output.join('\n')).not.toContain(w.bot.apiKey);
});
