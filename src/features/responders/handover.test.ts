import { ManualClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { decideHandover, parseMention, renderAnnouncement } from './handover';
import { ResponderService } from './service';
import { handlingUntil, zonedInstant } from './working-hours';
import { openSqliteStore } from '../../store/sqlite-store';
import { OutboxSpeaker } from '../../zulip/speaker';
import type { ZulipUser } from '../../zulip/api';
import { incident, T0, testConfig } from '../../../test/support/factories';
import { drainMessages } from '../../../test/support/outbox';
import { tempDbPath } from '../../../test/support/temp';

const ann = { id: 1, name: 'Ann Smith' };
const bob = { id: 2, name: 'Bob Jones' };
const eve = { id: 3, name: 'Eve' };

describe('mentions', () => {
  test.each([
    ['@**Ann Smith**', { name: 'Ann Smith', silent: false }],
    ['to @**Ann Smith|42** please', { name: 'Ann Smith', id: 42, silent: false }],
    ['@_**Ann Smith**', { name: 'Ann Smith', silent: true }],
    ['@_**Ann Smith|7** force', { name: 'Ann Smith', id: 7, silent: true }],
  ])('%j', (text, m) => expect(parseMention(text)).toEqual(m));
  test.each(['Ann Smith', '@Ann', '@****', '**Ann**', '@*sre-team*'])('%j is no person mention', (text) => expect(parseMention(text)).toBeUndefined());
});

describe('handover rules', () => {
  const base = { current: ann, sender: ann, target: bob, force: false, openIncidents: [], missingStreams: [] };
  // Issue 19: two-party. What used to complete at once is now a request the other side confirms.
  test('everything acknowledged and subscribed: a request the upcoming FR confirms', () => {
    expect(decideHandover({ ...base, openIncidents: [incident({ status: 'acknowledged' })] })).toEqual({ kind: 'request', confirmer: bob });
  });
  test('the upcoming FR may start it too (the acting FR confirms); nobody else', () => {
    expect(decideHandover({ ...base, sender: bob })).toEqual({ kind: 'request', confirmer: ann });
    expect(decideHandover({ ...base, sender: eve })).toEqual({ kind: 'not-allowed', current: ann });
  });
  test('only the acting FR names incidents', () => {
    expect(decideHandover({ ...base, sender: bob, naming: true })).toEqual({ kind: 'names-not-allowed', current: ann });
    expect(decideHandover({ ...base, naming: true }).kind).toBe('request');
  });
  test('force completes at once, announced as forced, even with nothing unacknowledged', () => {
    expect(decideHandover({ ...base, force: true })).toEqual({ kind: 'complete', forced: true, unacknowledged: [] });
  });
  test('blocked by unacknowledged incidents, unless forced', () => {
    const open = [incident({ eventId: '1' }), incident({ eventId: '2', status: 'acknowledged' })];
    expect(decideHandover({ ...base, openIncidents: open })).toEqual({ kind: 'blocked', unacknowledged: [open[0]] });
    expect(decideHandover({ ...base, openIncidents: open, force: true })).toEqual({ kind: 'complete', forced: true, unacknowledged: [open[0]] });
  });
  test('missing subscriptions are named', () => {
    expect(decideHandover({ ...base, missingStreams: ['SRE # Critical'] })).toEqual({ kind: 'missing-subscriptions', streams: ['SRE # Critical'] });
  });
  test('the same person', () => expect(decideHandover({ ...base, target: ann }).kind).toBe('same-person'));
  test('first handover with nobody FR', () => expect(decideHandover({ ...base, current: undefined, sender: eve }).kind).toBe('complete'));
  test('the announcement names both, the digest and what is handed over', () => {
    const text = renderAnnouncement({
      from: ann,
      to: bob,
      by: ann,
      forced: false,
      open: [incident({ status: 'acknowledged', acknowledgedBy: 'Ann Smith' })],
      handedOver: [incident({ status: 'acknowledged', acknowledgedBy: 'Ann Smith' })],
      sla: testConfig().sla,
      now: T0 + 3_600_000,
    });
    expect(text).toContain('@_**Ann Smith|1** → @**Bob Jones|2** is now the acting first responder');
    expect(text).toContain('acknowledged by Ann Smith, 15h 00m to resolve');
    expect(text).toContain('**Handed over by Ann Smith**');
  });
  test('a forced handover says who forced it and whose confirmation is missing', () => {
    const text = renderAnnouncement({ from: ann, to: bob, by: ann, forced: true, open: [incident()], handedOver: [], sla: testConfig().sla, now: T0 });
    expect(text).toContain('⚠️ Forced: 1 incident(s) were still unacknowledged at handover.');
    expect(text).toContain('⚠️ Forced by Ann Smith: completed without confirmation by Bob Jones.');
    expect(text).toContain('Ann Smith hands over no incidents by name.');
  });
});

describe('working hours', () => {
  const tz = 'Europe/Amsterdam';
  test('during the day: until today\'s end', () => {
    expect(handlingUntil(Date.UTC(2026, 10, 23, 10), tz, '09:00', '17:00')).toBe(Date.UTC(2026, 10, 23, 16)); // 17:00 CET
  });
  // Issue 19 ("unless working day ends"): outside working hours, handling lasts until the end of
  // the next working day (it used to end when the next day started).
  test('in the evening: until the end of the next working day', () => {
    expect(handlingUntil(Date.UTC(2026, 10, 23, 20), tz, '09:00', '17:00')).toBe(Date.UTC(2026, 10, 24, 16));
  });
  test('early morning of a working day: until that day\'s end', () => {
    expect(handlingUntil(Date.UTC(2026, 10, 23, 4), tz, '09:00', '17:00')).toBe(Date.UTC(2026, 10, 23, 16));
  });
  test('Friday 18:30: until the end of Monday (working days mon–fri)', () => {
    // 2026-11-27 is a Friday; 18:30 CET = 17:30 UTC.
    expect(handlingUntil(Date.UTC(2026, 10, 27, 17, 30), tz, '09:00', '17:00')).toBe(Date.UTC(2026, 10, 30, 16));
    expect(handlingUntil(Date.UTC(2026, 10, 28, 12), tz, '09:00', '17:00')).toBe(Date.UTC(2026, 10, 30, 16));
  });
  test('configured working days: a Saturday shift ends Saturday', () => {
    expect(handlingUntil(Date.UTC(2026, 10, 28, 12), tz, '09:00', '17:00', ['sat', 'sun'])).toBe(Date.UTC(2026, 10, 28, 16));
    expect(handlingUntil(Date.UTC(2026, 10, 27, 12), tz, '09:00', '17:00', ['sat'])).toBe(Date.UTC(2026, 10, 28, 16));
  });
  test('summer time is honoured', () => {
    expect(zonedInstant({ year: 2026, month: 7, day: 1, hour: 17, minute: 0 }, tz)).toBe(Date.UTC(2026, 6, 1, 15));
  });
});

describe('ResponderService with an injected clock', () => {
  const users: ZulipUser[] = [
    { id: 1, email: 'ann@x.org', fullName: 'Ann Smith', isBot: false },
    { id: 2, email: 'bob@x.org', fullName: 'Bob Jones', isBot: false },
    { id: 5, email: 'bot@x.org', fullName: 'Zabbix', isBot: true },
    { id: 6, email: 'bob2@x.org', fullName: 'Bob Twin', isBot: false },
    { id: 7, email: 'bob3@x.org', fullName: 'Bob Twin', isBot: false },
  ];
  function setup(subscribed = true) {
    const store = openSqliteStore(tempDbPath('sre-fr-'));
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 9)); // 10:00 in Amsterdam
    const speaker = new OutboxSpeaker(store, clock);
    const api = { users: async () => users, isSubscribed: async (_id: number, s: string) => subscribed || s !== 'SRE ### Informational', groupMembers: async () => undefined };
    const fr = new ResponderService({ store, speaker, api, config: testConfig(), clock, log: silentLogger });
    const said = () => drainMessages(store);
    return { store, clock, fr, said };
  }

  test('unknown and ambiguous users, bots', async () => {
    const { fr } = setup();
    await expect(fr.resolve('@**Nobody**')).rejects.toThrow('No Zulip user is called Nobody.');
    await expect(fr.resolve('@**Bob Twin**')).rejects.toThrow(/Several users are called Bob Twin/);
    expect((await fr.resolve('@**Bob Twin|7**')).person).toEqual({ id: 7, name: 'Bob Twin' });
    await expect(fr.resolve('@**Zabbix**')).rejects.toThrow('Zabbix is a bot.');
  });

  test('missing subscriptions block the handover and are named', async () => {
    const { fr } = setup(false);
    fr.setFirst(ann, 'Ann Smith');
    const r = await fr.handover(ann, '@**Bob Jones**', false);
    expect(r.decision).toEqual({ kind: 'missing-subscriptions', streams: ['SRE ### Informational'] });
    expect(r.reply).toContain('must subscribe to **SRE ### Informational**');
  });

  test('a handler gets the reminders until their working day ends; then the FR, and the topic is told', () => {
    const { store, clock, fr, said } = setup();
    fr.setFirst(bob, 'Bob Jones');
    const inc = incident({ topic: 'web-01' });
    store.putIncident(inc);
    const ref = { stream: 'SRE # Critical', topic: 'web-01' };
    expect(fr.addressee(inc, clock.now())).toEqual({ mention: '@**Bob Jones|2**', role: 'first responder' });
    const h = fr.startHandling(ref, ann);
    expect(h.until).toBe(Date.UTC(2026, 10, 23, 16));
    expect(fr.addressee(inc, clock.now())).toEqual({ mention: '@**Ann Smith|1**', role: 'handling this' });
    clock.set(Date.UTC(2026, 10, 23, 15, 59));
    expect(fr.expireHandlers(clock.now())).toBe(0);
    clock.set(Date.UTC(2026, 10, 23, 16, 0, 1));
    expect(fr.expireHandlers(clock.now())).toBe(1);
    // Issue 19: the FR is mentioned for real (it was `@_**Bob Jones|2**`, which never notified).
    expect(said()).toEqual([{ stream: 'SRE # Critical', topic: 'web-01', content: "🕔 Ann Smith's working day has ended: reminders in this topic go to the first responder @**Bob Jones|2** again." }]);
    expect(fr.addressee(inc, clock.now())).toEqual({ mention: '@**Bob Jones|2**', role: 'first responder' });
  });

  test('a handler who is the FR is not told about themselves: only that handling ended', () => {
    const { store, clock, fr, said } = setup();
    fr.setFirst(bob, 'Bob Jones');
    store.putIncident(incident({ topic: 'web-01' }));
    fr.startHandling({ stream: 'SRE # Critical', topic: 'web-01' }, bob);
    clock.set(Date.UTC(2026, 10, 23, 16, 0, 1));
    fr.expireHandlers(clock.now());
    expect(said()).toEqual([{ stream: 'SRE # Critical', topic: 'web-01', content: "🕔 Bob Jones's working day has ended: their handling of this topic ended." }]);
  });

  test('history keeps every handover, newest first', async () => {
    const { fr } = setup();
    expect(fr.setFirst(ann, 'Ann Smith')).toBe(true);
    expect(fr.setFirst(bob, 'Bob Jones')).toBe(false);
    await fr.handover(bob, '@**Bob Jones**', false);
    // Two-party (issue 19): Bob's request completes when Ann confirms.
    expect(fr.history().map((h) => h.to.name)).toEqual(['Ann Smith']);
    expect(await fr.confirm(ann, '')).toMatch(/^✅ Handover to @_\*\*Bob Jones\|2\*\* recorded/);
    expect(fr.history().map((h) => h.to.name)).toEqual(['Bob Jones', 'Ann Smith']);
  });
});
