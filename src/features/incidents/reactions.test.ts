/**
 * Reactions as actions, in-process: an acknowledge emoji on an alert post acknowledges that
 * incident, on the bot's message in an incident topic the topic's open incidents — as `!ack`
 * does, Zabbix included — confirmed by the bot's ✅ and the status card, with no message; removing
 * it, other emoji, bots, people's messages and messages outside incident topics change nothing.
 */
import { inProcessBot, type InProcessBot } from '../../../test/support/harness';
import type { ZabbixApi } from '../../zabbix/client';

const TOPIC = 'web-01.example.org';

class ScriptedZabbix implements ZabbixApi {
  readonly acks: { eventIds: readonly string[]; message: string }[] = [];
  failing = false;
  async version() {
    return '6.0.14';
  }
  async problems() {
    return [];
  }
  async events() {
    return [];
  }
  async acknowledge(eventIds: readonly string[], message: string) {
    this.acks.push({ eventIds, message });
    if (this.failing) throw new Error('Zabbix event.acknowledge: HTTP 502');
  }
  async triggerItems() {
    return [];
  }
  async checkNow() {
    return [];
  }
}

async function twoAlerts(bot: InProcessBot) {
  const a = await bot.alert({ eventId: '7001', triggerId: '501', trigger: 'HTTPS is down on web-01' });
  const b = await bot.alert({ eventId: '7002', triggerId: '502', trigger: 'SSH service is down on web-01' });
  await bot.advance('2s', { everySecond: true }); // the status card (a new critical topic's waits a round for a storm)
  bot.replies();
  return { a, b };
}

test('🛠️ on an alert post acknowledges that incident only: ✅ on the post, the card says who, no message; its reminders stop', async () => {
  const bot = await inProcessBot();
  const { a } = await twoAlerts(bot);
  await bot.react(a.id, 'working_on_it');
  expect(bot.store.getIncident('7001')).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'Ann Smith', acknowledgedById: 2 });
  expect(bot.store.getIncident('7002')).toMatchObject({ status: 'open' });
  expect(bot.reactions()).toEqual([{ messageId: a.id, emojiName: 'check' }]);
  expect(bot.store.history('7001').map((h) => [h.kind, h.actor])).toContainEqual(['acknowledged', 'Ann Smith']);
  await bot.advance('2s', { everySecond: true });
  expect(bot.replies()).toEqual([]); // no message: the card is edited
  expect(bot.cardEdits().at(-1)?.content).toMatch(/🟡 \*\*HTTPS is down on web-01\*\*[^\n]*\n- [^\n]*\n- Acknowledged by \*\*Ann Smith\*\* at 2026-11-23 10:00 CET/);
  await bot.say('!ongoing', { stream: 'SRE - General', topic: 'bot' });
  expect(bot.replies()[0]?.content).toMatch(/HTTPS is down on web-01 \| .* \| yes, Ann Smith \|/);
  // The next reminder names only the other incident.
  await bot.advance('1h');
  const reminder = bot.replies().find((r) => r.content.includes('⏰'));
  expect(reminder?.content).toContain('SSH service is down on web-01');
  expect(reminder?.content).not.toContain('HTTPS is down on web-01');
});

test('👀 on a reminder (the bot\'s message) acknowledges every open incident of its topic, exactly as !ack', async () => {
  const bot = await inProcessBot();
  await twoAlerts(bot);
  await bot.advance('1h');
  const reminder = bot.botMessages().find((m) => m.content.includes('⏰'))!;
  expect(reminder.topic).toBe(TOPIC);
  bot.replies();
  await bot.react(reminder.id, 'eyes', { as: 'bob' });
  expect(['7001', '7002'].map((id) => bot.store.getIncident(id)?.acknowledgedBy)).toEqual(['Bob Jones', 'Bob Jones']);
  expect(bot.reactions()).toEqual([{ messageId: reminder.id, emojiName: 'check' }]);
  expect(bot.replies()).toEqual([]);
  await bot.advance('1h');
  expect(bot.replies().filter((r) => r.content.includes('⏰'))).toEqual([]);
});

test('on the status card too; a second reaction finds nothing left to acknowledge and adds no ✅', async () => {
  const bot = await inProcessBot();
  await twoAlerts(bot);
  const card = bot.botMessages().find((m) => m.content.startsWith('🚦'))!;
  await bot.react(card.id, 'working_on_it');
  expect(bot.store.incidentsInTopic({ stream: 'SRE # Critical', topic: TOPIC }, { openOnly: true }).every((i) => i.status === 'acknowledged')).toBe(true);
  await bot.react(card.id, 'eyes', { as: 'bob' });
  expect(bot.store.getIncident('7001')?.acknowledgedBy).toBe('Ann Smith');
  expect(bot.reactions()).toEqual([{ messageId: card.id, emojiName: 'check' }]);
});

test('Zabbix: the acknowledgement is made there by the same job as !ack; a failure is said once in the topic', async () => {
  const zabbix = new ScriptedZabbix();
  const bot = await inProcessBot({ zabbix });
  const { a } = await twoAlerts(bot);
  await bot.react(a.id, 'working_on_it');
  await bot.runJobs(); // the Zabbix job, queued by the reaction's job
  expect(zabbix.acks).toEqual([{ eventIds: ['7001'], message: 'Acknowledged — Ann Smith (via Zulip)' }]);
  expect(bot.replies()).toEqual([]);
  await bot.advance('1s');
  expect(bot.cardEdits().at(-1)?.content).toContain('Zabbix: acknowledged from chat');

  zabbix.failing = true;
  const reminderless = await bot.alert({ eventId: '7003', triggerId: '503', trigger: 'Disk full on web-01' });
  await bot.react(reminderless.id, 'working_on_it');
  await bot.runJobs();
  expect(bot.replies().map((r) => r.content)).toEqual([expect.stringMatching(/^⚠️ Could not acknowledge in Zabbix yet \(Zabbix event\.acknowledge: HTTP 502\)/)]);
  await bot.advance('1s');
  expect(bot.cardEdits().at(-1)?.content).toContain('the acknowledgement is not in Zabbix yet (retrying');
});

test('ignored: removing the reaction, other emoji, bots, people\'s messages, messages outside incident topics or the SRE streams', async () => {
  const bot = await inProcessBot();
  const { a } = await twoAlerts(bot);
  bot.api.users_.push({ id: 7, email: 'other-bot@example.org', fullName: 'Other Bot', isBot: true });
  await bot.react(a.id, 'working_on_it', { op: 'remove' });
  await bot.react(a.id, 'thumbs_up');
  await bot.react(a.id, 'working_on_it', { as: { id: 7, email: 'other-bot@example.org', fullName: 'Other Bot' } });
  await bot.react(a.id, 'working_on_it', { as: { id: 1, email: 'sre-bot@example.org', fullName: 'SRE Bot' } });
  const chatter = await bot.say('looking at it', { topic: TOPIC });
  await bot.react(chatter.id, 'working_on_it');
  const elsewhere = await bot.say('!help', { stream: 'SRE - General', topic: 'bot' });
  await bot.react(elsewhere.id, 'working_on_it');
  const answer = bot.botMessages().find((m) => m.topic === 'bot')!;
  await bot.react(answer.id, 'working_on_it'); // the bot's message, but no incident in that topic
  const random = await bot.say('lunch?', { stream: 'random', topic: 'food' });
  await bot.react(random.id, 'eyes');
  await bot.react(999_999, 'eyes'); // gone
  expect(['7001', '7002'].map((id) => bot.store.getIncident(id)?.status)).toEqual(['open', 'open']);
  expect(bot.reactions()).toEqual([]);
  expect(bot.store.jobCount()).toBe(0);

  // Acknowledged by reaction, then the reaction taken off: still acknowledged.
  await bot.react(a.id, 'working_on_it');
  await bot.react(a.id, 'working_on_it', { op: 'remove' });
  expect(bot.store.getIncident('7001')?.status).toBe('acknowledged');
});

test('reactions.acknowledge configures the emoji', async () => {
  const bot = await inProcessBot({ config: { reactions: { acknowledge: ['fire'] } } });
  const { a, b } = await twoAlerts(bot);
  await bot.react(a.id, 'working_on_it');
  await bot.react(b.id, 'fire');
  expect(['7001', '7002'].map((id) => bot.store.getIncident(id)?.status)).toEqual(['open', 'acknowledged']);
});

test('an earlier repeat post of the event counts as its alert post; an OK post acknowledges nothing', async () => {
  const bot = await inProcessBot();
  await bot.alert({ eventId: '7001', triggerId: '501', trigger: 'HTTPS is down on web-01' });
  const repeat = await bot.alert({ eventId: '7001', triggerId: '501', trigger: 'HTTPS is down on web-01' });
  await bot.alert({ eventId: '7001', triggerId: '501', trigger: 'HTTPS is down on web-01' }); // the newest post now
  await bot.alert({ eventId: '7002', triggerId: '502', trigger: 'SSH service is down on web-01' });
  const ok = await bot.alert({ eventId: '7009', triggerId: '509', trigger: 'Ping loss on web-01', status: 'OK' });
  await bot.react(ok.id, 'working_on_it');
  expect(['7001', '7002'].map((id) => bot.store.getIncident(id)?.status)).toEqual(['open', 'open']);
  await bot.react(repeat.id, 'working_on_it');
  expect(['7001', '7002'].map((id) => bot.store.getIncident(id)?.status)).toEqual(['acknowledged', 'open']);
  expect(bot.reactions()).toEqual([{ messageId: repeat.id, emojiName: 'check' }]);
});
