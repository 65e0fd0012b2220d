/**
 * Chat-native habits, through the real bot as a process against the fake Zulip: the old
 * integration's `?ongoing` and resolution phrase, talking to the bot by mention, durations as
 * people write them, `!help <command>`; acknowledging with a reaction (🛠️ on the alert post, 👀 on
 * a reminder) and the status card, one message edited in place (a fresh one once Zulip no longer
 * lets the bot edit it).
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
  // (The topic's status card may be posted meanwhile, in the alert's topic.)
  expect(fake.messages().filter((m) => fromBot(m) && m.id > chatter.id && m.subject === 'bot')).toHaveLength(0);
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
  // A time three hours ahead in the team's zone (a fixed one, such as 23:59, lies past the SLA's cap in the small hours).
  const at = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(Date.now() + 3 * 3_600_000);
  const until = (await ask(`!snooze until ${at}`, STREAMS.critical, 'web-04')).content;
  expect(until).toMatch(new RegExp(`for (2h 5\\dm|3h), until \\d{4}-\\d\\d-\\d\\d ${at} CES?T`));
  expect((await ask('!snooze forever', STREAMS.critical, 'web-04')).content).toBe('"forever" is not a duration like "30m" or "2h".\nUsage: `!snooze <duration>`');
});

test('!help <command> gives usage, examples and where it runs', async () => {
  const one = (await ask('!help snooze')).content;
  expect(one).toContain('`!snooze <duration>`');
  expect(one).toContain("Runs in an SRE stream, in the incident's topic");
  expect(one).toContain('`!snooze until 14:00`');
});

describe('reactions as actions, and the status card', () => {
  const HOST = 'web-09';
  const SLA = { sla: { critical: { remindEvery: '2s', resolveWithin: '1h' } }, timezone: 'Europe/Amsterdam' };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const inTopic = () => fake.messagesIn(STREAMS.critical, HOST).filter(fromBot);
  const reminders = () => inTopic().filter((m) => m.content.includes('⏰'));
  const cards = () => inTopic().filter((m) => m.content.startsWith('🚦'));
  const cardSaying = (text: string) => fake.waitForMessage((m) => fromBot(m) && m.subject === HOST && m.content.startsWith('🚦') && m.content.includes(text), { timeoutMs: 10_000 });
  const checked = (id: number) => fake.waitFor(() => fake.messages().find((m) => m.id === id)?.reactions.some((r) => r.user_id === w.bot.id && r.emoji_name === 'check') === true, 10_000, `✅ on message ${id}`);
  const show = (state: string, content: string) => process.stdout.write(`\n--- status card: ${state} ---\n${content}\n`);

  async function restartWith(config: Record<string, unknown>, fakeOptions: Parameters<typeof startWorld>[1] = {}) {
    await stopWorld({ fake, bot });
    ({ fake, w, bot } = await startWorld(config, fakeOptions));
  }

  async function problem(eventId: string, trigger: string) {
    const p = fake.post(w.zabbix.email, STREAMS.critical, HOST, alertPost({ host: HOST, eventId, triggerId: eventId, trigger }), { client: 'ZulipZabbixWebhook' });
    await bot!.waitForLog((l) => l.messageId === p.id);
    return p;
  }

  test('🛠️ on the alert post acknowledges it: its reminders stop, ✅ on the post, `!ongoing` names who; no message is said', async () => {
    await restartWith(SLA);
    const alert = await problem('9101', 'HTTPS is down on web-09');
    await fake.waitForMessage((m) => fromBot(m) && m.content.includes('⏰'), { afterId: alert.id, timeoutMs: 6_000 });
    fake.react(w.ann.email, alert.id, 'working_on_it');
    await checked(alert.id);
    await sleep(1_000); // a reminder already on its way may still land
    const last = Math.max(...fake.messages().map((m) => m.id));
    await sleep(4_500); // two reminder intervals
    expect(reminders().filter((m) => m.id > last)).toEqual([]);
    const ongoing = await ask('!ongoing');
    expect(ongoing.content).toMatch(/HTTPS is down on web-09 \| [^|]+ \| yes, Ann Smith \|/);
    // Nothing said in the topic but reminders and the card (edited to show who acknowledged).
    expect(inTopic().filter((m) => !m.content.includes('⏰') && !m.content.startsWith('🚦') && !m.content.startsWith('📣'))).toEqual([]);
    expect((await cardSaying('Acknowledged by **Ann Smith**')).id).toBe(cards()[0]?.id);
  });

  test('👀 on a reminder acknowledges every open incident of its topic', async () => {
    await restartWith(SLA);
    await problem('9201', 'HTTPS is down on web-09');
    const second = await problem('9202', 'SSH service is down on web-09');
    const reminder = await fake.waitForMessage((m) => fromBot(m) && m.content.includes('⏰') && m.content.includes('SSH service is down'), { afterId: second.id, timeoutMs: 6_000 });
    fake.react(w.bob.email, reminder.id, 'eyes');
    await checked(reminder.id);
    await sleep(1_000);
    const last = Math.max(...fake.messages().map((m) => m.id));
    await sleep(4_500);
    expect(reminders().filter((m) => m.id > last)).toEqual([]);
    const ongoing = (await ask('!ongoing')).content;
    expect(ongoing).toMatch(/HTTPS is down on web-09 \| [^|]+ \| yes, Bob Jones \|/);
    expect(ongoing).toMatch(/SSH service is down on web-09 \| [^|]+ \| yes, Bob Jones \|/);
    // Taking the reaction off changes nothing.
    fake.unreact(w.bob.email, reminder.id, 'eyes');
    await sleep(1_000);
    expect((await ask('!ongoing')).content).toMatch(/SSH service is down on web-09 \| [^|]+ \| yes, Bob Jones \|/);
  });

  test('the status card is one message, edited in place through open → acknowledged → resolved', async () => {
    await restartWith({ timezone: 'Europe/Amsterdam' });
    const alert = await problem('9301', 'HTTPS is down on web-09');
    const open = await cardSaying('**1 not acknowledged**');
    show('open', open.content);
    fake.react(w.ann.email, alert.id, 'working_on_it');
    const acked = await cardSaying('Acknowledged by **Ann Smith**');
    show('acknowledged (🛠️ on the alert post)', acked.content);
    const ok = fake.post(w.zabbix.email, STREAMS.critical, HOST, alertPost({ status: 'OK', host: HOST, eventId: '9301', triggerId: '9301', trigger: 'HTTPS is down on web-09' }), { client: 'ZulipZabbixWebhook' });
    await bot!.waitForLog((l) => l.messageId === ok.id);
    const resolved = await cardSaying('all resolved ✅');
    show('resolved (OK from Zabbix)', resolved.content);
    expect([open.id, acked.id, resolved.id]).toEqual([open.id, open.id, open.id]);
    expect(cards()).toHaveLength(1);
    const edits = fake.editsOf(open.id);
    expect(edits.map((e) => e.userId)).toEqual(edits.map(() => w.bot.id));
    expect(edits.map((e) => e.after.split('\n')[0])).toEqual(['🚦 **Status** — 1 open, acknowledged', '🚦 **Status** — all resolved ✅']);
    expect(edits[0]?.before).toBe(open.content);
    expect(resolved.content).toContain('- Zabbix: OK (recovered) · event [9301](https://zabbix.example.org/tr_events.php?triggerid=9301&eventid=9301)');
  });

  test('the realm\'s edit limit, as /register tells it: past it the card is posted afresh, no edit tried', async () => {
    await restartWith({ timezone: 'Europe/Amsterdam' }, { fake: { editLimitSeconds: 4 } });
    const alert = await problem('9501', 'HTTPS is down on web-09');
    const first = await cardSaying('**1 not acknowledged**');
    await sleep(5_000); // past the realm's limit
    fake.react(w.ann.email, alert.id, 'working_on_it');
    const fresh = await cardSaying('Acknowledged by **Ann Smith**');
    expect(fresh.id).toBeGreaterThan(first.id);
    expect(fake.editsOf(first.id)).toEqual([]);
    expect(fake.requests.filter((r) => r.method === 'PATCH' && r.status !== 200)).toEqual([]); // none refused: none tried
  });

  test('once Zulip no longer lets the bot edit the card (the realm\'s edit limit lowered while it runs), a fresh card is posted and edited from then on', async () => {
    await restartWith({ timezone: 'Europe/Amsterdam' });
    const alert = await problem('9401', 'HTTPS is down on web-09');
    const first = await cardSaying('**1 not acknowledged**');
    fake.setEditLimit(4); // an administrator sets a limit: the bot registered before, with none
    await sleep(5_000); // past the realm's limit
    fake.react(w.ann.email, alert.id, 'working_on_it');
    const fresh = await cardSaying('Acknowledged by **Ann Smith**');
    expect(fresh.id).toBeGreaterThan(first.id);
    expect(fake.messages().find((m) => m.id === first.id)?.content).toBe(first.content); // the old one stays as it was
    show('acknowledged, posted afresh after the edit limit', fresh.content);
    const ok = fake.post(w.zabbix.email, STREAMS.critical, HOST, alertPost({ status: 'OK', host: HOST, eventId: '9401', triggerId: '9401', trigger: 'HTTPS is down on web-09' }), { client: 'ZulipZabbixWebhook' });
    await bot!.waitForLog((l) => l.messageId === ok.id);
    const resolved = await cardSaying('all resolved ✅');
    expect(resolved.id).toBe(fresh.id);
    expect(cards().map((m) => m.id)).toEqual([first.id, fresh.id]);
    expect(fake.editsOf(first.id)).toEqual([]);
    expect(fake.editsOf(fresh.id).map((e) => e.after.split('\n')[0])).toEqual(['🚦 **Status** — all resolved ✅']);
    expect(bot!.logs().some((l) => l.msg === 'a card can no longer be edited; posting a fresh one')).toBe(true);
  });
});
