/**
 * Incident truth, through the real bot as a process against the fake Zulip: what `!ongoing` says
 * is what is really open — after ✔, renames and un-✔ made while the bot was down, on a first
 * start on a Zulip full of history, after a repeat of a ✔'d problem; unreadable and misplaced
 * alert posts are said, never dropped silently.
 */
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { startBot as startLiveBot, startWorld, stopWorld, STREAMS, type BotProcess, type World } from '../support/bot-process';
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

function zabbixPosts(stream: string, topic: string, a: Parameters<typeof alertPost>[0]): FakeMessage {
  return fake.post(w.zabbix.email, stream, topic, alertPost(a), { client: 'ZulipZabbixWebhook' });
}

async function ask(command: string, stream: string = STREAMS.general, topic = 'bot'): Promise<FakeMessage> {
  const sent = fake.post(w.ann.email, stream, topic, command);
  return fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === topic && m.display_recipient === stream, { afterId: sent.id, timeoutMs: 10_000 });
}

function handled(b: BotProcess, messageId: number) {
  return b.waitForLog((l) => l.messageId === messageId);
}

function reconciled(b: BotProcess) {
  return b.waitForLog((l) => l.msg === 'reconciled the tracked topics with Zulip', 15_000);
}

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;

/** The topic's messages as the closing note shows them. */
function transcript(stream: string, topic: string): string {
  return fake
    .messagesIn(stream, topic)
    .map((m) => `${m.sender_full_name}: ${m.content.split('\n').join('\n    ')}`)
    .join('\n');
}

test('a ✔ made while the bot was down resolves the incident after restart', async () => {
  let b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'web-01', { host: 'web-01', eventId: '10001', severity: 'High', trigger: 'HTTPS is down on web-01' });
  await handled(b, p.id);
  await b.kill('SIGKILL');
  fake.resolveTopic(STREAMS.critical, 'web-01', w.ann.email);
  b = await startBot();
  await reconciled(b);
  const said = await fake.waitForMessage((m) => fromBot(m) && m.subject === '✔ web-01' && /marked resolved/.test(m.content), { timeoutMs: 10_000 });
  expect(said.content).toMatch(/may still be firing|closed/);
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
  // Reminders never recreate the old, unresolved topic.
  expect(fake.messagesIn(STREAMS.critical, 'web-01')).toHaveLength(0);
  process.stdout.write(`--- restart after ✔ (${STREAMS.critical} > ✔ web-01) ---\n${transcript(STREAMS.critical, '✔ web-01')}\n`);
});

test('a rename made while the bot was down is followed; un-✔ while down reopens', async () => {
  let b = await startBot();
  const p1 = zabbixPosts(STREAMS.critical, 'web10', { host: 'web10', eventId: '10010', severity: 'High', trigger: 'nginx is down on web10' });
  const p2 = zabbixPosts(STREAMS.critical, 'db-03', { host: 'db-03', eventId: '10011', severity: 'High', trigger: 'PostgreSQL is down on db-03' });
  await handled(b, p2.id);
  await handled(b, p1.id);
  fake.resolveTopic(STREAMS.critical, 'db-03', w.ann.email);
  await fake.waitForMessage((m) => fromBot(m) && m.subject === '✔ db-03' && /marked resolved/.test(m.content), { timeoutMs: 10_000 });
  await b.kill('SIGKILL');
  fake.renameTopic(STREAMS.critical, 'web10', 'web10 - nginx crash loop', { byEmail: w.ann.email });
  fake.renameTopic(STREAMS.critical, '✔ db-03', 'db-03', { byEmail: w.ann.email });
  b = await startBot();
  await reconciled(b);
  const ongoing = (await ask('!ongoing')).content;
  expect(ongoing).toContain('**Ongoing incidents: 2**');
  expect(ongoing).toContain('#**SRE # Critical>web10 - nginx crash loop**');
  expect(ongoing).toContain('#**SRE # Critical>db-03**');
  expect(ongoing).not.toContain('#**SRE # Critical>web10**');
  const reopened = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'db-03' && /open again/.test(m.content), { timeoutMs: 10_000 });
  expect(reopened.content).toContain('PostgreSQL is down on db-03');
});

test('taking ✔ off a topic live reopens its incidents', async () => {
  const b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'lb-01', { host: 'lb-01', eventId: '10020', severity: 'High', trigger: 'HAProxy is down on lb-01' });
  await handled(b, p.id);
  fake.resolveTopic(STREAMS.critical, 'lb-01', w.ann.email);
  await fake.waitForMessage((m) => fromBot(m) && m.subject === '✔ lb-01' && /marked resolved/.test(m.content), { timeoutMs: 10_000 });
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
  fake.renameTopic(STREAMS.critical, '✔ lb-01', 'lb-01', { byEmail: w.ann.email });
  await fake.waitForMessage((m) => fromBot(m) && m.subject === 'lb-01' && /open again/.test(m.content), { timeoutMs: 10_000 });
  expect((await ask('!ongoing')).content).toContain('HAProxy is down on lb-01');
});

test('first start on a Zulip with open, ✔ and OK\'d alert topics imports the open ones and says so once', async () => {
  zabbixPosts(STREAMS.critical, 'web-05', { host: 'web-05', eventId: '20001', severity: 'High', trigger: 'HTTPS is down on web-05' });
  zabbixPosts(STREAMS.nonCritical, 'db-05', { host: 'db-05', eventId: '20002', severity: 'Warning', trigger: 'Disk space low on db-05' });
  zabbixPosts(STREAMS.critical, 'web-06', { host: 'web-06', eventId: '20003', severity: 'High', trigger: 'HTTPS is down on web-06' });
  fake.resolveTopic(STREAMS.critical, 'web-06', w.ann.email);
  zabbixPosts(STREAMS.critical, 'web-07', { host: 'web-07', eventId: '20004', severity: 'High', trigger: 'HTTPS is down on web-07' });
  zabbixPosts(STREAMS.critical, 'web-07', { host: 'web-07', eventId: '20004', severity: 'High', status: 'OK' });
  const b = await startBot();
  const summary = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.general && /First start/.test(m.content), { timeoutMs: 15_000 });
  expect(summary.content).toContain('Tracking **2 open incidents**');
  expect(summary.content).toContain('1 in topics marked ✔, 1 with an OK from Zabbix');
  await b.waitForLog((l) => l.msg === 'first start: imported open incidents from history');
  const ongoing = (await ask('!ongoing')).content;
  expect(ongoing).toContain('**Ongoing incidents: 2**');
  expect(ongoing).toContain('HTTPS is down on web-05');
  expect(ongoing).toContain('Disk space low on db-05');
  expect(ongoing).not.toContain('web-06');
  expect(ongoing).not.toContain('web-07');
  process.stdout.write(`--- first start (${STREAMS.general} > SRE bot) ---\n${summary.content}\n--- !ongoing ---\n${ongoing}\n`);
  // Said once: a restart does not import again.
  await b.kill('SIGKILL');
  bot = await startBot();
  await reconciled(bot);
  expect(fake.messages().filter((m) => fromBot(m) && /First start/.test(m.content))).toHaveLength(1);
});

test('the same PROBLEM posted again after ✔ reopens the incident in the topic Zabbix used, linking the resolved one', async () => {
  const b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'web-02', { host: 'web-02', eventId: '10030', severity: 'High', trigger: 'HTTPS is down on web-02' });
  await handled(b, p.id);
  fake.resolveTopic(STREAMS.critical, 'web-02', w.ann.email);
  await fake.waitForMessage((m) => fromBot(m) && m.subject === '✔ web-02' && /marked resolved/.test(m.content), { timeoutMs: 10_000 });
  const again = zabbixPosts(STREAMS.critical, 'web-02', { host: 'web-02', eventId: '10030', severity: 'High', trigger: 'HTTPS is down on web-02' });
  await handled(b, again.id);
  const line = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-02' && /Reopened/.test(m.content), { timeoutMs: 10_000 });
  expect(line.content).toContain('#**SRE # Critical>✔ web-02**');
  const ongoing = (await ask('!ongoing')).content;
  expect(ongoing).toContain('**Ongoing incidents: 1**');
  expect(ongoing).toContain('#**SRE # Critical>web-02**');
});

test('an unreadable alert post gets a notice; a misplaced alert is tracked by severity with a note; an OK with an unknown event id resolves the same trigger', async () => {
  const b = await startBot();
  const bad = fake.post(w.zabbix.email, STREAMS.critical, 'web-03', 'WARNING (High) alert on [web-03](https://zabbix.example.org/tr_events.php?triggerid=300&eventid=30001):\n* HTTPS is down on web-03', { client: 'ZulipZabbixWebhook' });
  const notice = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-03', { afterId: bad.id, timeoutMs: 10_000 });
  expect(notice.content).toMatch(/could not read this post .* as a Zabbix alert .*not tracked/);

  const misplaced = zabbixPosts(STREAMS.nonCritical, 'web-04', { host: 'web-04', eventId: '30002', triggerId: '400', severity: 'Disaster', trigger: 'Host web-04 is unreachable' });
  const note = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-04' && /tracked as critical/.test(m.content), { afterId: misplaced.id, timeoutMs: 10_000 });
  expect(note.content).toContain(STREAMS.critical);
  expect((await ask('!ongoing')).content).toMatch(/\*\*Critical\*\* \(1\)[\s\S]*Host web-04 is unreachable/);

  const ok = zabbixPosts(STREAMS.nonCritical, 'web-04', { host: 'web-04', eventId: '30099', triggerId: '400', severity: 'Disaster', status: 'OK', trigger: 'Host web-04 is unreachable' });
  await handled(b, ok.id);
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
});

test('commands in a host topic find the incident that lives in another topic; !ack <event id> works there', async () => {
  const b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'web11', { host: 'web11', eventId: '10040', severity: 'High', trigger: 'nginx is down on web11' });
  await handled(b, p.id);
  fake.renameTopic(STREAMS.critical, 'web11', 'web11 - nginx crash loop', { byEmail: w.ann.email });
  await b.waitForLog((l) => l.msg === 'followed a topic rename');
  fake.post(w.ann.email, STREAMS.critical, 'web11', 'anyone on this?');
  const nothing = await ask('!ack', STREAMS.critical, 'web11');
  expect(nothing.content).toContain('#**SRE # Critical>web11 - nginx crash loop**');
  const acked = await ask('!ack 10040 on it', STREAMS.critical, 'web11');
  expect(acked.content).toMatch(/^✅ Acknowledged by Ann Smith: nginx is down on web11 \(event 10040\) \(tracked in #\*\*SRE # Critical>web11 - nginx crash loop\*\*\)/);
});

test('!resolve marks the Zulip topic resolved', async () => {
  const b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'app-01', { host: 'app-01', eventId: '10050', severity: 'High', trigger: 'App is down on app-01' });
  await handled(b, p.id);
  const answer = await ask('!resolve restarted the app', STREAMS.critical, 'app-01');
  expect(answer.content).toMatch(/^✅ Resolved by Ann Smith/);
  await b.waitForLog((l) => l.msg === 'marked the topic resolved in Zulip');
  expect(fake.messagesIn(STREAMS.critical, 'app-01')).toHaveLength(0);
  const moved = fake.messagesIn(STREAMS.critical, '✔ app-01');
  expect(moved.some((m) => m.id === answer.id)).toBe(true);
  // The ✔ the bot made is not a second resolution.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(fake.messagesIn(STREAMS.critical, '✔ app-01').filter((m) => fromBot(m) && /marked resolved/.test(m.content))).toHaveLength(0);
});

test('an alert post edited to OK resolves its incident; a deleted alert post is no longer tracked, and says so', async () => {
  const b = await startBot();
  const p = zabbixPosts(STREAMS.critical, 'web-08', { host: 'web-08', eventId: '10060', severity: 'High', trigger: 'HTTPS is down on web-08' });
  const q = zabbixPosts(STREAMS.critical, 'web-09', { host: 'web-09', eventId: '10061', severity: 'High', trigger: 'HTTPS is down on web-09' });
  await handled(b, p.id);
  await handled(b, q.id);
  fake.edit(w.zabbix.email, p.id, alertPost({ host: 'web-08', eventId: '10060', severity: 'High', status: 'OK', trigger: 'HTTPS is down on web-08' }));
  const resolved = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-08' && /edited to OK: resolved/.test(m.content), { timeoutMs: 10_000 });
  expect(resolved.content).toContain('HTTPS is down on web-08');
  fake.deleteMessage(q.id);
  const gone = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-09' && /was deleted: no longer tracked/.test(m.content), { timeoutMs: 10_000 });
  expect(gone.content).toContain('event 10061');
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
});
