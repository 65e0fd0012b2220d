/**
 * Reminder catch-up (red-team finding 10): after the bot or Zulip was away for longer than
 * `remindEvery`, a topic with several unacknowledged incidents gets one reminder message per
 * round, and the rounds that follow a second apart say nothing more there.
 */
import { alertPost } from '../../../test/support/factories';
import { inProcessBot, type InProcessBot, type Reply } from '../../../test/support/harness';

let bot: InProcessBot;

const reminders = (): Reply[] => bot.replies().filter((r) => r.content.includes('⏰'));
const topics = (rs: Reply[]) => rs.map((r) => r.topic).sort();

test('several incidents in one topic, clock far past several periods: one message per topic per round, none in the next rounds', async () => {
  bot = await inProcessBot({ config: { sla: { critical: { remindEvery: '1h', resolveWithin: '48h' } } } });
  // Eight triggers on one host, opened over three quarters of an hour (a slowly spreading outage).
  for (let n = 1; n <= 8; n++) {
    await bot.alert({ eventId: String(n), triggerId: String(100 + n), trigger: `Check ${n} failed on web-01.example.org` });
    await bot.advance('6m', { tick: false });
  }
  await bot.alert({ host: 'db-01', eventId: '9', triggerId: '200', trigger: 'Check failed on db-01' });
  bot.replies();
  // The bot was away for five hours: one round catches up.
  await bot.advance('5h');
  const first = reminders();
  expect(topics(first)).toEqual(['db-01', 'web-01.example.org']);
  expect(first.find((r) => r.topic === 'web-01.example.org')!.content).toContain('8 incidents in this topic');
  // Rounds a second apart for the next hour: nothing more until the next reminder is due.
  await bot.advance('59m', { everySecond: true });
  expect(reminders()).toEqual([]);
  await bot.advance('2m', { everySecond: true });
  expect(topics(reminders())).toEqual(['db-01', 'web-01.example.org']);
});

test('alerts of the downtime read back from history between rounds: one reminder message in the topic, not one per alert', async () => {
  bot = await inProcessBot({ config: { sla: { critical: { remindEvery: '1h', resolveWithin: '48h' } } } });
  const opened = bot.clock.now();
  // The bot was down for five hours; on start it reads back the eight alerts posted meanwhile
  // (timestamps of then), while its scheduler runs a round each second.
  await bot.advance('5h', { tick: false });
  for (let n = 1; n <= 8; n++) {
    await bot.app.pipeline.onMessage({
      id: 1000 + n,
      streamId: bot.streamId(bot.config.streams.critical),
      stream: bot.config.streams.critical,
      topic: 'web-01.example.org',
      content: alertPost({ host: 'web-01.example.org', eventId: String(n), triggerId: String(100 + n), trigger: `Check ${n} failed on web-01.example.org` }),
      senderId: 9,
      senderEmail: bot.config.alerts.senders[0]!,
      senderName: 'Zabbix',
      client: 'ZulipZabbixWebhook',
      timestamp: Math.floor((opened + n * 6 * 60_000) / 1000),
    });
    await bot.advance('1s');
  }
  await bot.advance('30m', { everySecond: true });
  const sent = reminders();
  expect(topics(sent)).toEqual(['web-01.example.org']);
  // Every alert read back is named by the next reminder, once.
  await bot.advance('1h', { everySecond: true });
  const next = reminders();
  expect(next).toHaveLength(1);
  expect(next[0]!.content).toContain('8 incidents in this topic');
});

test('an incident opened between two reminders is named in the topic\'s next one: one message per interval in the topic', async () => {
  bot = await inProcessBot({ config: { sla: { critical: { remindEvery: '1h', resolveWithin: '48h' } } } });
  await bot.alert({ eventId: '1', triggerId: '101', trigger: 'HTTPS is down on web-01.example.org' });
  await bot.advance('90m', { everySecond: true });
  await bot.alert({ eventId: '2', triggerId: '102', trigger: 'SSH service is down on web-01.example.org' });
  await bot.advance('90m', { everySecond: true });
  const sent = reminders();
  // At 1h (event 1), at 2h (both: event 2 named early, 30 min after it opened), at 3h (both) — not also at 2h30 for event 2.
  expect(sent.map((r) => r.content.match(/\(event \[?\d/g)?.map((x) => `${x.replace("[", "")})`))).toEqual([['(event 1)'], ['(event 1)', '(event 2)'], ['(event 1)', '(event 2)']]);
  expect(sent[1]!.content).toMatch(/SSH service is down on web-01\.example\.org\*\* — unacknowledged for 30m/);
});
