/**
 * The Zulip transport under the faults of the red-team review, each reproduced against the real
 * bot as a process and the fake Zulip (through zulip-js): 5xx answers with Zulip's JSON body (3),
 * replies identical to an earlier one (4), out-of-order message events (5), a send answered after
 * the client timeout and general slowness (6), an event id Zulip never issued (10b).
 */
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { startBot as startLiveBot, startWorld, stopWorld, STREAMS, type BotProcess, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(90_000);

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

const POST_MESSAGES = { method: 'POST', path: /^\/api\/v1\/messages$/ };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a reader sees: the content without invisible (zero-width, format) characters. */
const visible = (content: string) => content.replace(/[\u200b-\u200f\u2060-\u2064\ufeff]/g, '').trimEnd();

function fromBot(stream: string, topic: string): FakeMessage[] {
  return fake.messagesIn(stream, topic).filter((m) => m.sender_email === w.bot.email);
}

/** Types a command as Ann and returns the bot's first answer after it in that topic. */
async function ask(command: string, topic: string, opts: { stream?: string; timeoutMs?: number } = {}): Promise<FakeMessage> {
  const stream = opts.stream ?? STREAMS.general;
  const sent = fake.post(w.ann.email, stream, topic, command);
  return fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === topic && m.display_recipient === stream, { afterId: sent.id, timeoutMs: opts.timeoutMs ?? 15_000 });
}

function zabbixPosts(host: string, eventId: string, trigger: string): FakeMessage {
  return fake.post(w.zabbix.email, STREAMS.critical, host, alertPost({ host, eventId, severity: 'High', trigger }), { client: 'ZulipZabbixWebhook' });
}

function handled(b: BotProcess, messageId: number, timeoutMs = 15_000) {
  return b.waitForLog((l) => l.messageId === messageId, timeoutMs);
}

/** The bot's direct messages to a user. */
function dmsTo(email: string): string[] {
  return fake.directMessages.filter((m) => m.sender_email === w.bot.email && m.display_recipient.some((p) => p.email === email)).map((m) => visible(m.content));
}

test('(3) a 5xx answer with Zulip\'s JSON error body is retried like any 5xx, not dropped', async () => {
  const b = await startBot();
  for (const status of [500, 502, 503]) fake.failNext(1, { ...POST_MESSAGES, status, body: 'json' });
  const reply = await ask('!help', 'json 5xx', { timeoutMs: 30_000 });
  expect(reply.content).toContain('!ongoing');
  expect(fake.requests.filter((r) => r.fault === 'fail').map((r) => r.status)).toEqual([500, 502, 503]);
  expect(b.logs().filter((l) => l.msg === 'Zulip refused an outgoing item; dropped')).toEqual([]);
  expect(fromBot(STREAMS.general, 'json 5xx')).toHaveLength(1);
});

test('(4) a reply identical to an earlier one is sent: after a clean restart, after a 502, in direct messages; an unclear send is posted once', async () => {
  let b = await startBot();
  const topic = 'help twice';
  const help = visible((await ask('!help', topic)).content);

  // A clean restart (SIGTERM), then the same command in the same topic.
  expect(await b.kill('SIGTERM')).toBe(0);
  b = await startBot();
  expect(visible((await ask('!help', topic)).content)).toBe(help);

  // One 502 (nothing posted): the bot cannot tell, looks, and sends.
  fake.failNext(1, { ...POST_MESSAGES, status: 502 });
  expect(visible((await ask('!help', topic, { timeoutMs: 30_000 })).content)).toBe(help);

  // The answer lost after Zulip took the message: the bot looks, finds it, and does not send it again.
  fake.dropNext(1, { path: POST_MESSAGES.path });
  expect(visible((await ask('!help', topic, { timeoutMs: 30_000 })).content)).toBe(help);
  // Replies in a topic go out in order: once this one is there, the dropped one was dealt with.
  const ongoing = visible((await ask('!ongoing', topic, { timeoutMs: 30_000 })).content);
  expect(fromBot(STREAMS.general, topic).map((m) => visible(m.content))).toEqual([help, help, help, help, ongoing]);
  expect(b.logs().filter((l) => l.msg === 'Zulip refused an outgoing item; dropped')).toEqual([]);

  // Direct messages: the same answer twice, with a 502 before the second.
  fake.postDirect(w.ann.email, [w.bot.email], '!help');
  await fake.waitFor(() => dmsTo(w.ann.email).length === 1, 15_000, 'the first direct answer');
  fake.failNext(1, { ...POST_MESSAGES, status: 502 });
  fake.postDirect(w.ann.email, [w.bot.email], '!help');
  await fake.waitFor(() => dmsTo(w.ann.email).length === 2, 30_000, 'the second direct answer');
  const dms = dmsTo(w.ann.email);
  expect(dms[1]).toBe(dms[0]);
  await sleep(1_500);
  expect(dmsTo(w.ann.email)).toHaveLength(2);
});

test('(6) a send answered after the client timeout is posted once; meanwhile other topics are answered', async () => {
  const b = await startBot();
  // Zulip works 20 s on the next send (the bot's client timeout is 15 s) and stores it only then.
  fake.delayNext(1, 20_000, { ...POST_MESSAGES, effect: 'when-answered' });
  const slow = fake.post(w.ann.email, STREAMS.general, 'slow topic', '!help');
  await handled(b, slow.id);
  await sleep(500); // its reply is on the way to Zulip
  const asked = Date.now();
  // Another topic is not held up behind the slow send.
  const other = await ask('!help', 'other topic', { timeoutMs: 14_000 });
  expect(other.content).toContain('!ongoing');
  expect(Date.now() - asked).toBeLessThan(12_000);

  // The slow reply arrives once: not sent again when the client gave up at 15 s.
  await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === 'slow topic', { timeoutMs: 40_000 });
  const after = visible((await ask('!ongoing', 'slow topic', { timeoutMs: 60_000 })).content);
  await sleep(1_000);
  const said = fromBot(STREAMS.general, 'slow topic').map((m) => visible(m.content));
  expect(said).toHaveLength(2);
  expect(said[1]).toBe(after);
  expect(said[0]).toContain('!ongoing');
});

test('(5) out-of-order message events: the lower id is handled too (alert tracked, commands answered once)', async () => {
  const b = await startBot();
  // One batch: the alert's event comes after the next message's.
  fake.deliverOutOfOrderNext(1);
  const alert = zabbixPosts('web-09.example.org', '9001', 'HTTPS is down on web-09');
  const next = fake.post(w.ann.email, STREAMS.general, 'order', '!help');
  await handled(b, next.id);
  await handled(b, alert.id);

  // A later batch: a command's event comes after the alert posted after it.
  await sleep(500); // the bot is idle, its long-poll waiting: the next event is answered alone
  fake.deliverOutOfOrderNext(1, { sameBatch: false });
  const late = fake.post(w.ann.email, STREAMS.general, 'late command', '!fr');
  const alert2 = zabbixPosts('web-10.example.org', '9002', 'HTTPS is down on web-10');
  await handled(b, alert2.id);
  await handled(b, late.id);
  // It came in a batch after the alert's: handled below the position, and said so.
  expect(b.logs().filter((l) => l.messageId === late.id && /arrived after a higher message id/.test(String(l.msg)))).toHaveLength(1);

  const ongoing = (await ask('!ongoing', 'check')).content;
  expect(ongoing).toContain('**Ongoing incidents: 2**');
  expect(ongoing).toContain('HTTPS is down on web-09');
  expect(ongoing).toContain('HTTPS is down on web-10');
  await sleep(1_000);
  expect(fromBot(STREAMS.general, 'order')).toHaveLength(1);
  expect(fromBot(STREAMS.general, 'late command')).toHaveLength(1);
});

test('(10b) an event id Zulip never issued: the bot registers a new queue and catches up from history', async () => {
  const b = await startBot();
  const registrations = () => fake.requests.filter((r) => r.path === '/api/v1/register').length;
  const before = registrations();
  fake.unknownEventIdNext(1); // on the next events answer (a heartbeat comes every second)
  await fake.waitFor(() => fake.requests.some((r) => r.fault === 'unknownEventId'), 10_000, 'the unknown event id to go out');
  const alert = zabbixPosts('db-07.example.org', '9101', 'Database replication broken on db-07');
  // Handled only once the bot has a new queue and caught up. (Asked in the same batch, `!ongoing`
  // would be answered ahead of the alert: read-only commands go first.)
  await handled(b, alert.id, 20_000);
  const reply = await ask('!ongoing', 'still listening?', { timeoutMs: 20_000 });
  expect(reply.content).toContain('Database replication broken on db-07');
  expect(registrations()).toBeGreaterThan(before);
  expect(alert.id).toBeGreaterThan(0);
});
