/**
 * One message per topic per round for everything the SLA engine says (issue 17): reminders, 75 %
 * warnings and breaches of a topic's incidents that fall due within `min(60 s, remindEvery / 4)`
 * of the first due item go out with it, with one mention. Through the whole app in-process
 * (real store, manual clock, one scheduler round a second).
 */
import { inProcessBot, type InProcessBot, type Reply } from '../../../test/support/harness';

const NC = 'SRE ## Non-critical';
let bot: InProcessBot;

/** Non-critical SLAs in minutes: reminders every 4m, acknowledge within 4m (75 % at 3m). */
async function start(): Promise<void> {
  bot = await inProcessBot({ config: { sla: { nonCritical: { remindEvery: '4m', ackWithin: '4m', resolveWithin: '7d' } } } });
  await bot.say('!fr @**Ann Smith**', { stream: 'SRE - General', topic: 'fr' });
}

const sla = (r: Reply) => /⏰|SLA warning|SLA breach/.test(r.content);

/** Runs the scheduler every second for `seconds`; returns the SLA messages with the second they came. */
async function rounds(seconds: number, t0: number): Promise<(Reply & { t: number })[]> {
  const out: (Reply & { t: number })[] = [];
  for (let s = 0; s < seconds; s++) {
    await bot.advance(1_000);
    for (const r of bot.replies()) if (sla(r)) out.push({ ...r, t: Math.round((bot.clock.now() - t0) / 1000) });
  }
  return out;
}

test('three non-critical problems opened seconds apart on one host: warnings, reminders and breaches in two messages, not seven', async () => {
  await start();
  const t0 = bot.clock.now();
  for (const [k, trigger] of ['Free disk space is less than 20% on /var', 'Load average is too high', 'High memory utilization'].entries()) {
    await bot.alert({ host: 'db-01.example.org', eventId: String(9001 + k), triggerId: String(301 + k), trigger, severity: 'Warning' });
    await bot.advance(5_000);
  }
  bot.replies(); // the checklists
  const said = await rounds(8 * 60 - 15, t0);
  // 3m: the first 75 % warning; the window (60 s) takes the other two warnings, the three
  // reminders (4m) and the first breach (4m, said a moment ahead with its deadline). 4m05s: the
  // other two breaches. 8m: the next reminder round, all three in one.
  expect(said.map((m) => [m.t, m.topic])).toEqual([
    [180, 'db-01.example.org'],
    [245, 'db-01.example.org'],
    [420, 'db-01.example.org'],
  ]);
  const [first, second, third] = said.map((m) => m.content);
  expect(first).toMatch(/^🚨 \*\*SLA breach in 1m\*\*: \*\*Free disk space is less than 20% on \/var\*\* \(non-critical, event 9001\) is not acknowledged and its 4m deadline is /);
  expect(first).toContain('⚠️ **SLA warning**: 75% of the time to get **Load average is too high** (non-critical, event 9002) acknowledged has passed');
  expect(first).toContain('⚠️ **SLA warning**: 75% of the time to get **High memory utilization** (non-critical, event 9003) acknowledged has passed');
  expect(first).toContain('⏰ **Reminder**: 3 incidents in this topic are still unacknowledged');
  // One ping: the first responder is mentioned once in the message.
  expect(first!.match(/@\*\*Ann Smith\|2\*\*/g)).toHaveLength(1);
  expect(second).toMatch(/^🚨 \*\*SLA breached\*\*: \*\*Load average is too high\*\* .*\n🚨 \*\*SLA breach in 5s\*\*: \*\*High memory utilization\*\*/);
  expect(second!.match(/@\*\*Ann Smith\|2\*\*/g)).toHaveLength(1);
  expect(third).toMatch(/^⏰ \*\*Reminder\*\*: 3 incidents in this topic are still unacknowledged/);
  // Never two messages to the topic within the window.
  for (let k = 1; k < said.length; k++) expect(said[k]!.t - said[k - 1]!.t).toBeGreaterThan(60);
  // Breaches are recorded at their deadlines.
  const breaches = bot.store.logsOfKind('breach', 0).map((l) => Math.round((l.at - t0) / 1000));
  expect(breaches).toEqual([240, 245, 250]);
});

test('what falls due after the window is its own round; other topics are not pulled in', async () => {
  await start();
  const t0 = bot.clock.now();
  await bot.alert({ host: 'db-01.example.org', eventId: '1', triggerId: '1', trigger: 'Disk slow', severity: 'Warning' });
  await bot.advance(70_000, { tick: false }); // 70 s later: beyond the first one's window
  await bot.alert({ host: 'db-01.example.org', eventId: '2', triggerId: '2', trigger: 'Disk full', severity: 'Warning' });
  await bot.alert({ host: 'db-02.example.org', eventId: '3', triggerId: '3', trigger: 'Disk slow', severity: 'Warning' });
  bot.replies();
  const said = await rounds(4 * 60 + 20 - 70, t0 + 70_000);
  const at = (topic: string) => said.filter((m) => m.topic === topic).map((m) => m.t + 70);
  // db-01: 3m (1's 75 %, with its breach and reminder at 4m pulled in), 4m10s (2's 75 %, with its
  // breach at 5m10s pulled in; its reminder came with 1's, the topic's cadence).
  expect(at('db-01.example.org')).toEqual([180, 250]);
  // db-02's items fall due in its own time, in its own topic.
  expect(at('db-02.example.org')).toEqual([250]);
  const db01 = said.filter((m) => m.topic === 'db-01.example.org');
  // A reminder names every unacknowledged incident of its topic (2, not yet due, with it).
  expect(db01[0]!.content).toMatch(/^🚨 \*\*SLA breach in 1m\*\*: \*\*Disk slow\*\* .*\n\n⏰ \*\*Reminder\*\*: 2 incidents in this topic are still unacknowledged — @\*\*Ann Smith\|2\*\* \(first responder\)/);
  expect(db01[1]!.content).toMatch(/^🚨 \*\*SLA breach in 1m\*\*: \*\*Disk full\*\* \(non-critical, event 2\)/);
  expect(db01[1]!.content).not.toContain('⏰');
  expect(db01.every((m) => m.stream === NC)).toBe(true);
});

test('a snoozed reminder is not pulled forward by a warning in its topic', async () => {
  await start();
  await bot.alert({ host: 'db-01.example.org', eventId: '1', triggerId: '1', trigger: 'Disk slow', severity: 'Warning' });
  await bot.say('!snooze 5m', { stream: NC, topic: 'db-01.example.org' }); // snoozed past 4m (capped at the 4m deadline)
  bot.replies();
  const t0 = bot.clock.now();
  const said = await rounds(250, t0);
  const first = said[0]!;
  expect(first.t).toBe(180);
  expect(first.content).not.toContain('⏰');
});
