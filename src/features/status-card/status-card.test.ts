/**
 * The status card through the whole app, in-process: posted once when the topic's first incident
 * opens, edited in place as the state changes (acknowledged, snoozed, handled, resolved, reopened,
 * Zabbix), never edited when nothing changed, following ✔ renames; rendered on the tick, a few
 * topics per second however many alerts come.
 */
import { inProcessBot, type InProcessBot } from '../../../test/support/harness';
import type { ZabbixApi, ZabbixEvent } from '../../zabbix/client';
import { cardKey } from './module';

const CRIT = 'SRE # Critical';
const TOPIC = 'web-01.example.org';
const KEY = cardKey({ stream: CRIT, topic: TOPIC });

/** The scheduler's rounds that render (a new critical topic's card waits a round for a storm: src/features/runbook/advisor.ts newTopicHold). */
const settle = (bot: InProcessBot) => bot.advance('2s', { everySecond: true });
const cards = (bot: InProcessBot) => bot.all().filter((r) => r.card !== undefined);
const latest = (bot: InProcessBot, key = KEY) => bot.cardEdits().filter((e) => e.key === key).at(-1)?.content ?? cards(bot).find((r) => r.card === key)?.content;

test('one card per topic: posted at the first incident, edited through acknowledged, snoozed, handled and resolved; no edit without a change', async () => {
  const bot = await inProcessBot();
  await bot.alert({ eventId: '7001', trigger: 'HTTPS is down on web-01' });
  expect(cards(bot)).toEqual([]); // rendered on the tick
  await settle(bot);
  expect(cards(bot)).toEqual([expect.objectContaining({ stream: CRIT, topic: TOPIC, card: KEY, content: expect.stringMatching(/^🚦 \*\*Status\*\* — 1 open, \*\*1 not acknowledged\*\*/) })]);

  await bot.alert({ eventId: '7002', triggerId: '502', trigger: 'SSH service is down on web-01' });
  await bot.alert({ eventId: '7002', triggerId: '502', trigger: 'SSH service is down on web-01' }); // repeated
  await settle(bot);
  expect(bot.cardEdits()).toHaveLength(1); // both alerts: one render
  expect(latest(bot)).toContain('2 open, **2 not acknowledged**');

  await bot.say('!ack 7001 on it', { topic: TOPIC });
  await settle(bot);
  expect(latest(bot)).toMatch(/🟡 \*\*HTTPS is down on web-01\*\*[\s\S]*Acknowledged by \*\*Ann Smith\*\* at 2026-11-23 10:00 CET — on it/);

  await bot.say('!snooze 30m', { topic: TOPIC });
  await settle(bot);
  expect(latest(bot)).toContain('Reminders snoozed until 2026-11-23 10:30 CET');

  await bot.say('!handling', { topic: TOPIC, as: 'bob' });
  await settle(bot);
  // Nobody is first responder yet: anyone may handle.
  expect(latest(bot)).toContain('Handled by **Bob Jones** (handling this)');

  const edits = bot.cardEdits().length;
  await bot.advance('30s', { everySecond: true }); // the sweep renders it again too
  expect(bot.cardEdits()).toHaveLength(edits); // nothing changed: nothing edited

  await bot.say('!resolve fixed the LB', { topic: TOPIC });
  await settle(bot);
  expect(latest(bot)).toMatch(/^🚦 \*\*Status\*\* — all resolved ✅/);
  expect(latest(bot)).toContain('(`!resolve`)');
  expect(cards(bot)).toHaveLength(1); // still the one message
});

test('a ✔ rename keeps the card (it moved with its topic); a new topic of the host afterwards gets its own', async () => {
  const bot = await inProcessBot();
  await bot.alert({ eventId: '7001' });
  await settle(bot);
  const first = bot.botMessages().find((m) => m.content.startsWith('🚦'))!;
  await bot.moveTopic(TOPIC, `✔ ${TOPIC}`);
  await settle(bot);
  expect(bot.store.getCard(KEY)).toMatchObject({ messageId: first.id, topic: `✔ ${TOPIC}` });
  expect(latest(bot)).toMatch(/all resolved ✅[\s\S]*\(topic marked ✔\)/);

  // Zabbix posts a new problem of the host: a new topic under the old name, with a card of its own.
  await bot.alert({ eventId: '7005', triggerId: '505', trigger: 'Disk full on web-01' });
  await settle(bot);
  const both = cards(bot);
  expect(both.map((c) => c.topic)).toEqual([TOPIC, TOPIC]);
  expect(bot.store.getCard(KEY)?.messageId).not.toBe(first.id);
  expect(both[1]?.content).toContain(`Linked: #**${CRIT}>✔ ${TOPIC}** (earlier incidents of this host)`);
});

test('reopened (the ✔ taken off): the card shows it open again', async () => {
  const bot = await inProcessBot();
  await bot.alert({ eventId: '7001' });
  await settle(bot);
  await bot.moveTopic(TOPIC, `✔ ${TOPIC}`);
  await settle(bot);
  await bot.moveTopic(`✔ ${TOPIC}`, TOPIC);
  await settle(bot);
  expect(latest(bot)).toMatch(/^🚦 \*\*Status\*\* — 1 open, \*\*1 not acknowledged\*\*/);
  expect(cards(bot)).toHaveLength(1);
});

test('Zabbix sync: an acknowledgement or a resolution made in Zabbix edits the card and says no line of its own', async () => {
  const state: { events: ZabbixEvent[] } = { events: [] };
  const zabbix: ZabbixApi = {
    version: async () => '6.0.14',
    problems: async () => [],
    events: async (ids) => state.events.filter((e) => ids.includes(e.eventId)),
    acknowledge: async () => {},
    triggerItems: async () => [],
    checkNow: async () => [],
  };
  const bot = await inProcessBot({ zabbix });
  await bot.alert({ eventId: '7001', trigger: 'HTTPS is down on web-01' });
  await settle(bot);
  bot.replies();
  const ev = { eventId: '7001', triggerId: '100', name: 'HTTPS is down on web-01', clock: bot.clock.now() / 1000, severity: 'High' as const, resolved: false, hosts: [{ hostId: '1', host: TOPIC, name: TOPIC }] };
  state.events = [{ ...ev, acknowledged: true, acknowledges: [{ clock: 0, message: 'rebooting', user: 'Admin', acknowledged: true }] }];
  await bot.app.sync?.run();
  await settle(bot);
  expect(bot.replies()).toEqual([]);
  expect(latest(bot)).toMatch(/Acknowledged by \*\*Admin \(Zabbix\)\*\* at [^\n]* — rebooting[\s\S]*- Zabbix: acknowledged in Zabbix/);
  state.events = [{ ...ev, acknowledged: true, acknowledges: [], resolved: true }];
  await bot.app.sync?.run();
  await settle(bot);
  expect(bot.replies()).toEqual([]);
  expect(latest(bot)).toMatch(/all resolved ✅[\s\S]*- Zabbix: resolved in Zabbix/);
});

test('statusCard.enabled false: no card, and the Zabbix sync says its lines as before', async () => {
  const zabbix: ZabbixApi = {
    version: async () => '6.0.14',
    problems: async () => [],
    events: async () => [{ eventId: '7001', triggerId: '100', name: 'HTTPS is down', clock: 0, severity: 'High', resolved: true, acknowledged: false, acknowledges: [], hosts: [] }],
    acknowledge: async () => {},
    triggerItems: async () => [],
    checkNow: async () => [],
  };
  const bot = await inProcessBot({ zabbix, config: { statusCard: { enabled: false } } });
  await bot.alert({ eventId: '7001', trigger: 'HTTPS is down' });
  await settle(bot);
  await bot.app.sync?.run();
  await settle(bot);
  expect(cards(bot)).toEqual([]);
  expect(bot.all().map((r) => r.content)).toContain('✅ Zabbix reports **HTTPS is down** (event 7001) resolved.');
});

test('a burst over many topics: each topic rendered once, at most 20 a tick; cards only for topics with incidents', async () => {
  const bot = await inProcessBot();
  // Non-critical: critical problems on many hosts are a storm, whose one summary stands for the new topics' cards.
  for (let n = 0; n < 30; n++) {
    for (let k = 0; k < 3; k++) await bot.alert({ eventId: String(9000 + n * 10 + k), triggerId: String(600 + k), severity: 'Average', host: `db-${n}.example.org`, trigger: `Trigger ${k} on db-${n}` }, { jobs: 'none' });
  }
  await bot.say('just chatting', { stream: 'SRE - General', topic: 'coffee' });
  const renders = () => Number(bot.app.modules.find((m) => m.name === 'status-card')?.health?.()?.renders);
  const before = renders();
  await bot.advance('1s');
  expect(cards(bot)).toHaveLength(20);
  await bot.advance('1s');
  expect(cards(bot)).toHaveLength(30);
  expect(new Set(cards(bot).map((c) => c.topic)).size).toBe(30);
  expect(cards(bot).every((c) => c.content.includes('3 open'))).toBe(true);
  // 30 topics (the chat topic has nothing to render), plus at most one sweep render a tick.
  expect(renders() - before).toBeLessThanOrEqual(32);
});
