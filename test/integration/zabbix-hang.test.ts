/**
 * A hanging Zabbix must not stall the chat, and an acknowledgement typed in chat must reach
 * Zabbix exactly once even when the bot is killed while Zabbix hangs.
 *
 * The built bot against the fake Zulip and the fake Zabbix 6.0 (test/support/fake-zabbix.ts):
 * an alert opens a critical incident; Zabbix starts hanging (accepts connections, never answers);
 * `!ack` in the incident's topic, then `!help` elsewhere: `!help` is answered within a second and
 * `!ack` is confirmed in chat. Then the bot is SIGKILLed, Zabbix answers again, the bot restarts:
 * the acknowledgement is made in Zabbix, once.
 *
 * Acceptance test of the durable Zabbix acknowledgement redesign: today's bot acknowledges in
 * Zabbix inline in the command (stalling the messages behind it) and forgets it when killed.
 */
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { FakeZabbix } from '../support/fake-zabbix';
import { startBot, startWorld, stopWorld, STREAMS, type BotProcess, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';
import { until } from '../support/wait';

jest.setTimeout(60_000);

const HOST = 'web-01.example.org';
const EVENT_ID = '7001';
const TRIGGER = 'HTTPS is down on web-01';

let zbx: FakeZabbix;
let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  // ZABBIX_TOKEN in the environment overrides the config's token (the bot inherits the environment).
  zbx = await FakeZabbix.start({ token: process.env.ZABBIX_TOKEN || 'zabbix-test-token' });
  ({ fake, w, bot } = await startWorld({ zabbix: { url: zbx.url, token: zbx.token, syncEvery: '2s' } }));
});

afterEach(async () => {
  await stopWorld({ fake, bot });
  bot = undefined;
  await zbx.stop();
});

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a hanging Zabbix does not stall commands; a chat !ack reaches Zabbix exactly once across a SIGKILL', async () => {
  zbx.addProblem({ eventId: EVENT_ID, triggerId: '700', host: HOST, name: TRIGGER, severity: 4 });
  const alert = fake.post(w.zabbix.email, STREAMS.critical, HOST, alertPost({ host: HOST, eventId: EVENT_ID, triggerId: '700', severity: 'High', trigger: TRIGGER }), { client: 'ZulipZabbixWebhook' });
  await bot!.waitForLog((l) => l.messageId === alert.id && l.outcome === 'opened');
  // The bot talks to Zabbix (its sync has answered at least once) before Zabbix starts hanging.
  await until('the bot to sync with Zabbix', () => zbx.calls.some((c) => c === 'event.get' || c === 'problem.get'), 15_000);

  zbx.hang = true;
  const ack = fake.post(w.ann.email, STREAMS.critical, HOST, '!ack checking the load balancer');
  const help = fake.post(w.ann.email, STREAMS.general, 'bot', '!help');
  const helpPostedAt = Date.now();
  const helpReply = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.general && m.subject === 'bot', { afterId: help.id, timeoutMs: 10_000 });
  const helpMs = Date.now() - helpPostedAt;
  expect(helpReply.content).toContain('`!help`');
  expect(helpMs).toBeLessThan(1_000);

  const ackReply = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.critical && m.subject === HOST && m.content.startsWith('✅ Acknowledged by Ann Smith'), { afterId: ack.id, timeoutMs: 10_000 });
  expect(ackReply.content).toContain(`event ${EVENT_ID}`);
  // Nothing reached Zabbix while it hung.
  expect(zbx.acksFor(EVENT_ID)).toEqual([]);

  // Crash while Zabbix hangs; Zabbix comes back; the bot restarts on the same store.
  await bot!.kill('SIGKILL');
  bot = undefined;
  zbx.hang = false;
  bot = await startBot(w.configPath);

  await until(`an event.acknowledge for event ${EVENT_ID} (calls seen: ${zbx.calls.length})`, () => zbx.acksFor(EVENT_ID).length > 0, 20_000);
  await sleep(3_000); // room for a duplicate to show up
  const acks = zbx.acksFor(EVENT_ID);
  expect(acks).toHaveLength(1);
  expect(acks[0]!.action & 2).toBe(2); // the acknowledge bit, not only a message
  expect(zbx.event(EVENT_ID)?.acknowledged).toBe(true);
}, 60_000);
