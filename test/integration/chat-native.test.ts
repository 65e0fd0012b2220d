/**
 * Chat-native habits, through the real bot as a process against the fake Zulip: the old
 * integration's `?ongoing` and resolution phrase, talking to the bot by mention, durations as
 * people write them, `!help <command>`.
 */
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { startWorld, stopWorld, STREAMS, type BotProcess, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({ timezone: 'Europe/Amsterdam' }));
});

afterEach(async () => {
  await stopWorld({ fake, bot });
  bot = undefined;
});

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;

async function ask(command: string, stream: string = STREAMS.general, topic = 'bot'): Promise<FakeMessage> {
  const sent = fake.post(w.ann.email, stream, topic, command);
  return fake.waitForMessage((m) => fromBot(m) && m.subject === topic && m.display_recipient === stream, { afterId: sent.id, timeoutMs: 10_000 });
}

async function alertIn(host: string, eventId: string): Promise<void> {
  const p = fake.post(w.zabbix.email, STREAMS.critical, host, alertPost({ host, eventId, trigger: `HTTPS is down on ${host}` }), { client: 'ZulipZabbixWebhook' });
  await bot!.waitForLog((l) => l.messageId === p.id);
}

test('?ongoing answers like !ongoing; a ? sentence that names no command gets no answer', async () => {
  await alertIn('web-01', '9001');
  const q = await ask('?ongoing');
  expect(q.content).toContain('**Ongoing incidents: 1**');
  const chatter = fake.post(w.ann.email, STREAMS.general, 'bot', '?anyone around');
  await bot!.waitForLog((l) => l.messageId === chatter.id || (typeof l.msg === 'string' && l.msg.includes('polling')), 2_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  expect(fake.messages().filter((m) => fromBot(m) && m.id > chatter.id)).toHaveLength(0);
});

test('a message starting with a mention of the bot runs the command', async () => {
  await alertIn('web-02', '9002');
  expect((await ask(`@**SRE Bot** ongoing`)).content).toContain('**Ongoing incidents: 1**');
  expect((await ask(`@**SRE Bot|${w.bot.id}** !help ack`)).content).toMatch(/^\*\*`!ack \[event id\] \[note\]`\*\*/);
});

test('"I agree that this has been fully resolved" resolves the topic like a ✔ and gets ✅', async () => {
  await alertIn('web-03', '9003');
  const phrase = fake.post(w.ann.email, STREAMS.critical, 'web-03', 'I agree that this has been fully resolved');
  const said = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-03' && /agreed that this has been fully resolved/.test(m.content), { afterId: phrase.id, timeoutMs: 10_000 });
  expect(said.content).toContain('may still be firing');
  await new Promise((r) => setTimeout(r, 500));
  expect(fake.messages().find((m) => m.id === phrase.id)?.reactions.map((r) => r.emoji_name)).toContain('check');
  expect((await ask('!ongoing')).content).toMatch(/No open incidents/);
});

test('!snooze takes durations as people write them, and "until 14:00" in the team time zone', async () => {
  await alertIn('web-04', '9004');
  expect((await ask('!snooze 30 minutes', STREAMS.critical, 'web-04')).content).toMatch(/paused by Ann Smith for 30m, until \d{4}-\d\d-\d\d \d\d:\d\d CET/);
  expect((await ask('!snooze 1h30m', STREAMS.critical, 'web-04')).content).toMatch(/for 1h 30m/);
  expect((await ask('!snooze until 23:59', STREAMS.critical, 'web-04')).content).toMatch(/until \d{4}-\d\d-\d\d 23:59 CET/);
  expect((await ask('!snooze forever', STREAMS.critical, 'web-04')).content).toBe('"forever" is not a duration like "30m" or "2h".\nUsage: `!snooze <duration>`');
});

test('!help <command> gives usage, examples and where it runs', async () => {
  const one = (await ask('!help snooze')).content;
  expect(one).toContain('`!snooze <duration>`');
  expect(one).toContain("Runs in an SRE stream, in the incident's topic");
  expect(one).toContain('`!snooze until 14:00`');
});
