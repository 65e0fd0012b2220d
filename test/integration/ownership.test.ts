/**
 * Ownership that follows the process (issue 19), end to end: the built bot as a process against
 * the fake Zulip. Areas (`!handling` covers the topic's area; `area`/`host`/`list`), the right
 * person (the acknowledger gets the SLA warnings; the FR what nobody owns), working days and the
 * end-of-day handback (a real mention of the FR), the two-party handover (started by either
 * side, confirmed, expired, named incidents, force limited), escalation steps. The ✅ path of a
 * handover needs Zulip reaction events, which the pipeline does not read yet: it is tested in
 * process (src/features/responders/two-party.test.ts).
 */
import type { FakeZulip, FakeMessage } from '../support/fake-zulip';
import { type BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';
import { formatTime } from '../../src/domain/time';

jest.setTimeout(120_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

afterEach(() => stopWorld({ fake, bot }));

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;

async function start(config: Record<string, unknown>, groups: Record<string, 'both'> = {}): Promise<void> {
  ({ fake, w, bot } = await startWorld(config, {
    prepare: (world) => {
      for (const g of Object.keys(groups)) world.fake.addUserGroup(g, [world.ann.email, world.bob.email]);
    },
  }));
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!fr @**Ann Smith**')).content).toMatch(/is now the first responder/);
}

async function say(email: string, stream: string, topic: string, text: string): Promise<FakeMessage> {
  const sent = fake.post(email, stream, topic, text);
  return fake.waitForMessage((m) => fromBot(m) && m.display_recipient === stream && m.subject === topic, { afterId: sent.id });
}

function alert(host: string, eventId: string, trigger = `HTTPS is down on ${host}`): FakeMessage {
  return fake.post(w.zabbix.email, STREAMS.critical, host, alertPost({ host, eventId, trigger }));
}

const reminderIn = (topic: string, afterId: number) => fake.waitForMessage((m) => fromBot(m) && m.subject === topic && m.content.includes('⏰'), { afterId, timeoutMs: 15_000 });

test('areas: `!handling` in a topic covers its area (another host of it too); other areas stay with the FR; `list`, `area`, `host`', async () => {
  await start({ areas: { web: { hosts: ['^web-'] }, db: { hosts: ['^db-'] } }, firstResponder: { group: 'sre-fr' }, sla: { critical: { remindEvery: '2s', resolveWithin: '16h' } } }, { 'sre-fr': 'both' });
  alert('web-01', '8001');
  alert('web-02', '8002');
  const last = alert('db-01', '8003', 'PostgreSQL is down');
  await fake.waitForMessage((m) => fromBot(m) && m.subject === 'db-01', { afterId: last.id });
  const handling = await say(w.bob.email, STREAMS.critical, 'web-01', '!handling');
  expect(handling.content).toMatch(/^🛠️ Bob Jones handles area \*\*web\*\* \(every incident there\); reminders and warnings there mention them until .* \(the end of their working day\) or `!release`\.$/);
  expect((await reminderIn('web-02', handling.id)).content).toContain(`@**Bob Jones|${w.bob.id}** (handling area web)`);
  expect((await reminderIn('db-01', handling.id)).content).toContain(`@**Ann Smith|${w.ann.id}** (first responder)`);

  const list = await say(w.ann.email, STREAMS.general, 'fr', '!handling');
  expect(list.content).toContain(`- area **web**: @_**Bob Jones|${w.bob.id}** until `);
  expect(list.content).toContain('`db` (free) — /^db-/');
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!handling area mail')).content).toMatch(/^No area is called mail\. Areas: `web`, `db`\./);
  const hosts = await say(w.ann.email, STREAMS.general, 'fr', '!handling host ^db-0\\d$');
  expect(hosts.content).toMatch(/^🛠️ Ann Smith handles the hosts matching `\^db-0\\d\$`/);
  expect((await reminderIn('db-01', hosts.id)).content).toContain(`@**Ann Smith|${w.ann.id}** (handling hosts matching \`^db-0\\d$\`)`);

  const released = await say(w.ann.email, STREAMS.critical, 'web-02', '!release');
  expect(released.content).toBe('Bob Jones no longer handles area **web**; reminders go to the first responder again.');
  expect((await reminderIn('web-02', released.id)).content).toContain(`@**Ann Smith|${w.ann.id}** (first responder)`);
});

test('the right person: the FR is reminded of an unacknowledged incident; the SLA warnings of an acknowledged one mention whoever acknowledged it', async () => {
  await start({ sla: { critical: { remindEvery: '2s', resolveWithin: '12s' } } });
  const a = alert('db-02', '8101', 'PostgreSQL is down');
  expect((await reminderIn('db-02', a.id)).content).toContain(`@**Ann Smith|${w.ann.id}** (first responder)`);
  const ack = await say(w.bob.email, STREAMS.critical, 'db-02', '!ack restoring the replica');
  expect(ack.content).toMatch(/^✅ Acknowledged by Bob Jones/);
  const warning = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'db-02' && m.content.startsWith('⚠️ **SLA warning**'), { afterId: ack.id, timeoutMs: 15_000 });
  expect(warning.content).toContain(`\n@**Bob Jones|${w.bob.id}** (acknowledged it)`);
  expect(warning.content).not.toContain('Ann Smith');
});

test('working days bound `!handling`; at the end of the day the FR is mentioned for real, and a handler who is the FR is not told about themselves', async () => {
  // Working hours that end at the next full minute (at least 20 s away), today only (UTC).
  const now = new Date();
  let end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours(), now.getUTCMinutes() + 1));
  if (end.getTime() - now.getTime() < 20_000) end = new Date(end.getTime() + 60_000);
  if (end.getUTCDate() !== now.getUTCDate()) return; // a run at midnight: nothing to show today
  const hhmm = `${String(end.getUTCHours()).padStart(2, '0')}:${String(end.getUTCMinutes()).padStart(2, '0')}`;
  const today = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][now.getUTCDay()] as string;
  const inTwoDays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(now.getUTCDay() + 2) % 7] as string;
  await start({ timezone: 'UTC', firstResponder: { workingHours: { start: '00:00', end: hhmm }, workingDays: [today, inTwoDays], group: 'sre-fr' }, sla: { critical: { remindEvery: '1h', resolveWithin: '16h' } } }, { 'sre-fr': 'both' });
  const last = alert('web-05', '8201');
  await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-05', { afterId: last.id });
  alert('web-06', '8202');
  const bobs = await say(w.bob.email, STREAMS.critical, 'web-05', '!handling');
  expect(bobs.content).toContain(`until ${formatTime(end.getTime(), 'UTC')} (the end of their working day)`);
  const anns = await say(w.ann.email, STREAMS.critical, 'web-06', '!handling');
  expect(anns.content).toContain(`until ${formatTime(end.getTime(), 'UTC')}`);
  const back = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-05' && m.content.startsWith('🕔'), { afterId: anns.id, timeoutMs: 90_000 });
  expect(back.content).toBe(`🕔 Bob Jones's working day has ended: reminders in this topic go to the first responder @**Ann Smith|${w.ann.id}** again.`);
  const own = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-06' && m.content.startsWith('🕔'), { afterId: anns.id, timeoutMs: 10_000 });
  expect(own.content).toBe("🕔 Ann Smith's working day has ended: their handling of this topic ended.");
  // Outside working hours now (after today's end): until the end of the next working day, two days on.
  const later = await say(w.bob.email, STREAMS.critical, 'web-05', '!handling');
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 2, end.getUTCHours(), end.getUTCMinutes());
  expect(later.content).toContain(`until ${formatTime(next, 'UTC')}`);
});

test('two-party handover: started by either side, confirmed by the other, named incidents, expiry, force limited', async () => {
  await start({ firstResponder: { handoverExpiry: '3s' }, sla: { critical: { remindEvery: '1h', resolveWithin: '16h' } } });
  // Started by the acting FR; the upcoming FR accepts.
  const request = await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Bob Jones**');
  expect(request.content).toContain(`@**Bob Jones|${w.bob.id}**, confirm with \`!handover accept\` (or ✅ on this message) within 3s`);
  expect(fake.messagesIn(STREAMS.organisational)).toEqual([]);
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!handover accept')).content).toMatch(/^You started handover request #1/);
  expect((await say(w.bob.email, STREAMS.general, 'fr', '!handover accept')).content).toMatch(/^✅ Handover to @_\*\*Bob Jones\|/);
  expect(fake.messagesIn(STREAMS.organisational)[0]!.content).toContain('(started by Ann Smith, confirmed by Bob Jones)');

  // Started by the upcoming FR (Ann); the acting FR (Bob) confirms and names what he hands over.
  const a = alert('web-07', '8301');
  await fake.waitForMessage((m) => fromBot(m) && m.subject === 'web-07', { afterId: a.id });
  alert('db-07', '8302', 'PostgreSQL is down');
  await say(w.bob.email, STREAMS.critical, 'web-07', '!ack on it');
  await say(w.bob.email, STREAMS.critical, 'db-07', '!ack on it');
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Ann Smith** web-07')).content).toMatch(/^Only the acting first responder .* names the incidents to hand over/);
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Ann Smith**')).content).toContain(`@**Bob Jones|${w.bob.id}**, confirm with \`!handover confirm\``);
  expect((await say(w.bob.email, STREAMS.general, 'fr', '!handover confirm web-07')).content).toMatch(/^✅ Handover to @_\*\*Ann Smith\|/);
  const second = fake.messagesIn(STREAMS.organisational)[1]!.content;
  expect(second).toContain('(started by Ann Smith, confirmed by Bob Jones)');
  expect(second).toMatch(/\*\*Handed over by Bob Jones\*\* to Ann Smith \(reminders and warnings go to them now\):\n- Critical: \*\*HTTPS is down on web-07\*\* on web-07/);
  expect(second).toMatch(/\*\*Still with Bob Jones\*\* \(acknowledged or handled by them\):\n- Critical: \*\*PostgreSQL is down\*\* on db-07/);
  const ongoing = await say(w.ann.email, STREAMS.general, 'fr', '!ongoing');
  expect(ongoing.content).toMatch(/HTTPS is down on web-07 \|.*yes, Ann Smith/);

  // Nobody confirms: it expires and says so.
  const expiring = await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Bob Jones**');
  const expired = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'fr' && m.content.startsWith('⌛'), { afterId: expiring.id, timeoutMs: 10_000 });
  expect(expired.content).toBe(`⌛ Handover request #3 (@_**Ann Smith|${w.ann.id}** → @_**Bob Jones|${w.bob.id}**) expired: @_**Bob Jones|${w.bob.id}** did not confirm within 3s. @**Ann Smith|${w.ann.id}**, start it again with \`!handover @**Bob Jones**\` when you can both talk.`);
  expect((await say(w.bob.email, STREAMS.general, 'fr', '!handover accept')).content).toMatch(/^No handover is waiting for confirmation/);

  // force: not for the upcoming FR; the acting FR's is announced as forced.
  expect((await say(w.bob.email, STREAMS.general, 'fr', '!handover @**Bob Jones** force')).content).toMatch(/^Only the acting first responder \(@_\*\*Ann Smith\|\d+\*\*\) may force a handover/);
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Bob Jones** force')).content).toMatch(/^✅ Handover to @_\*\*Bob Jones\|/);
  expect(fake.messagesIn(STREAMS.organisational)[2]!.content).toContain('⚠️ Forced by Ann Smith: completed without confirmation by Bob Jones.');
  const hist = await say(w.ann.email, STREAMS.general, 'fr', '!fr history');
  expect(hist.content.split('\n')[1]).toMatch(/Bob Jones\|\d+\*\* \(by Ann Smith, forced\)$/);
});

test('escalation: stated in the reminders, the group after 2, a person after 1 more, each once', async () => {
  await start({ sla: { critical: { remindEvery: '2s', resolveWithin: '16h' } }, escalation: { group: 'sre-leads', critical: { after: 2, then: { after: 1, people: ['bob@example.org'] } } } });
  const a = alert('web-09', '8401');
  const r1 = await reminderIn('web-09', a.id);
  expect(r1.content).toMatch(/\nUnacknowledged, this escalates to @_\*sre-leads\* after 1 more reminder \(2s\)\.$/);
  const r2 = await reminderIn('web-09', r1.id);
  expect(r2.content).toContain('📣 **Escalated** to @*sre-leads*: **HTTPS is down on web-09** (event 8401) still unacknowledged after 2 reminders.');
  expect(r2.content).toContain(`Unacknowledged, this escalates to @_**Bob Jones|${w.bob.id}** after 1 more reminder (2s).`);
  const r3 = await reminderIn('web-09', r2.id);
  expect(r3.content).toContain(`📣 **Escalated (step 2)** to @**Bob Jones|${w.bob.id}**: **HTTPS is down on web-09** (event 8401) still unacknowledged after 3 reminders.`);
  const r4 = await reminderIn('web-09', r3.id);
  expect(r4.content).not.toMatch(/escalat/i);
});
