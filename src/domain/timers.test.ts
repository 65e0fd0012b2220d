import { acknowledge, resolve, type Incident } from './incident';
import { fireDue, remindable, schedule, snooze, topicHold } from './timers';
import { HOUR, incident, MIN, T0, testConfig } from '../../test/support/factories';

const sla = testConfig().sla;

/** Runs the scheduler every `step` ms from T0 to `until`, collecting what fired. */
function simulate(start: Incident, until: number, step = MIN, changes: Record<number, (i: Incident) => Incident> = {}) {
  let i = schedule(start, sla);
  const fired: { at: number; what: string }[] = [];
  for (let now = T0; now <= T0 + until; now += step) {
    const change = changes[now - T0];
    if (change) i = schedule(change(i), sla);
    if ((i.timers?.nextDueAt ?? Infinity) > now) continue;
    const f = fireDue(i, sla, now);
    i = f.incident;
    if (f.reminder) fired.push({ at: now - T0, what: 'reminder' });
    for (const w of f.warnings) fired.push({ at: now - T0, what: w.id });
  }
  return { fired, incident: i };
}

describe('reminder cadence', () => {
  test('critical: every hour while unacknowledged, 75% at 12h, breach at 16h', () => {
    const { fired } = simulate(incident({ severity: 'High' }), 17 * HOUR);
    const reminders = fired.filter((f) => f.what === 'reminder').map((f) => f.at / HOUR);
    expect(reminders).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(fired.filter((f) => f.what !== 'reminder')).toEqual([
      { at: 12 * HOUR, what: 'resolve-75' },
      { at: 16 * HOUR, what: 'resolve-100' },
    ]);
  });

  test('non-critical: every 8h; ack warnings at 6h45m and 9h; resolve warnings at 126h and 168h', () => {
    const { fired } = simulate(incident({ severity: 'Average' }), 170 * HOUR, 15 * MIN);
    expect(fired.filter((f) => f.what === 'reminder').map((f) => f.at / HOUR)).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168]);
    expect(fired.filter((f) => f.what !== 'reminder')).toEqual([
      { at: 6.75 * HOUR, what: 'acknowledge-75' },
      { at: 9 * HOUR, what: 'acknowledge-100' },
      { at: 126 * HOUR, what: 'resolve-75' },
      { at: 168 * HOUR, what: 'resolve-100' },
    ]);
  });

  test('informational: every 8h; ack warnings at 54h and 72h; no resolve deadline', () => {
    const { fired } = simulate(incident({ severity: 'Information' }), 80 * HOUR, 30 * MIN);
    expect(fired.filter((f) => f.what === 'reminder').map((f) => f.at / HOUR)).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 72, 80]);
    expect(fired.filter((f) => f.what !== 'reminder')).toEqual([
      { at: 54 * HOUR, what: 'acknowledge-75' },
      { at: 72 * HOUR, what: 'acknowledge-100' },
    ]);
  });

  test('acknowledging stops reminders; a critical one still gets its resolve warnings', () => {
    const { fired } = simulate(incident({ severity: 'Disaster' }), 17 * HOUR, MIN, {
      [150 * MIN]: (i) => acknowledge(i, { at: T0 + 150 * MIN, by: 'Ann' }),
    });
    expect(fired).toEqual([
      { at: 1 * HOUR, what: 'reminder' },
      { at: 2 * HOUR, what: 'reminder' },
      { at: 12 * HOUR, what: 'resolve-75' },
      { at: 16 * HOUR, what: 'resolve-100' },
    ]);
  });

  test('acknowledged non-critical: ack warnings stop, resolve warnings remain', () => {
    const { fired } = simulate(incident({ severity: 'Warning' }), 170 * HOUR, 15 * MIN, {
      [HOUR]: (i) => acknowledge(i, { at: T0 + HOUR, by: 'Ann' }),
    });
    expect(fired.map((f) => f.what)).toEqual(['resolve-75', 'resolve-100']);
  });

  test('acknowledged informational: nothing more', () => {
    const { fired } = simulate(incident({ severity: 'Information' }), 100 * HOUR, HOUR, { [HOUR]: (i) => acknowledge(i, { at: T0 + HOUR, by: 'Ann' }) });
    expect(fired).toEqual([]);
  });

  test('resolved incidents have nothing due', () => {
    const i = schedule(resolve(incident(), { at: T0 + MIN, by: 'Zabbix', resolution: 'ok-alert' }), sla);
    expect(i.timers?.nextDueAt).toBeUndefined();
    expect(i.timers?.nextReminderAt).toBeUndefined();
  });
});

describe('downtime catch-up', () => {
  test('after 5h down, a critical incident gets one reminder, not five, and the next a full interval later', () => {
    const i = schedule(incident({ severity: 'High' }), sla);
    const f = fireDue(i, sla, T0 + 5 * HOUR + 10 * MIN);
    expect(f.reminder).toBeDefined();
    expect(f.incident.timers).toMatchObject({ remindersSent: 1, nextReminderAt: T0 + 6 * HOUR + 10 * MIN });
    const again = fireDue(f.incident, sla, T0 + 5 * HOUR + 11 * MIN);
    expect(again.reminder).toBeUndefined();
    expect(again.warnings).toEqual([]);
  });

  test('down through both warning points: only the breach is posted, once', () => {
    const i = schedule(incident({ severity: 'High' }), sla);
    const f = fireDue(i, sla, T0 + 20 * HOUR);
    expect(f.warnings.map((w) => w.id)).toEqual(['resolve-100']);
    expect(f.incident.timers?.warningsSent.sort()).toEqual(['resolve-100', 'resolve-75']);
    expect(fireDue(f.incident, sla, T0 + 21 * HOUR).warnings).toEqual([]);
  });

  test('firing is idempotent at the same instant (never twice)', () => {
    const i = schedule(incident({ severity: 'High' }), sla);
    const once = fireDue(i, sla, T0 + HOUR);
    const twice = fireDue(once.incident, sla, T0 + HOUR);
    expect(once.reminder).toBeDefined();
    expect(twice.reminder).toBeUndefined();
  });
});

describe('one cadence per topic (red-team finding 10)', () => {
  test('a reminder owed within an interval of the topic\'s last one waits for the topic\'s next', () => {
    const i = schedule(incident({ severity: 'High' }), sla);
    const now = T0 + 5 * HOUR;
    const lastAt = now - 1000;
    expect(topicHold(i, sla, now, lastAt)).toBe(lastAt + HOUR);
    expect(topicHold(i, sla, now, now - HOUR)).toBeUndefined();
    expect(topicHold(i, sla, now, undefined)).toBeUndefined();
    const held = fireDue(i, sla, now, { holdReminderUntil: lastAt + HOUR });
    expect(held.reminder).toBeUndefined();
    expect(held.incident.timers).toMatchObject({ remindersSent: 0, nextReminderAt: lastAt + HOUR, nextDueAt: lastAt + HOUR });
    expect(fireDue(held.incident, sla, lastAt + HOUR).reminder).toBeDefined();
  });

  test('remindNow names an unacknowledged incident that is not due yet and puts it on the topic\'s cadence', () => {
    const i = schedule(incident({ severity: 'High', openedAt: T0 }), sla);
    const f = fireDue(i, sla, T0 + 10 * MIN, { remindNow: true });
    expect(f.reminder?.unacknowledgedFor).toBe(10 * MIN);
    expect(f.incident.timers).toMatchObject({ remindersSent: 1, lastReminderAt: T0 + 10 * MIN, nextReminderAt: T0 + 70 * MIN });
  });

  test('remindNow leaves acknowledged and snoozed incidents alone', () => {
    const acked = schedule(acknowledge(incident({ severity: 'High' }), { at: T0, by: 'Ann' }), sla);
    expect(remindable(acked, sla, T0 + MIN)).toBe(false);
    expect(fireDue(acked, sla, T0 + MIN, { remindNow: true }).reminder).toBeUndefined();
    const snoozed = snooze(schedule(incident({ severity: 'High' }), sla), sla, T0 + 3 * HOUR).incident;
    expect(remindable(snoozed, sla, T0 + 2 * HOUR)).toBe(false);
    expect(fireDue(snoozed, sla, T0 + 2 * HOUR, { remindNow: true }).reminder).toBeUndefined();
    expect(remindable(snoozed, sla, T0 + 3 * HOUR)).toBe(true);
  });
});

describe('snooze', () => {
  test('pauses reminders until the given time', () => {
    const s = snooze(schedule(incident({ severity: 'High' }), sla), sla, T0 + 3 * HOUR);
    expect(s.until).toBe(T0 + 3 * HOUR);
    expect(s.incident.timers?.nextDueAt).toBe(T0 + 3 * HOUR);
    expect(fireDue(s.incident, sla, T0 + 2 * HOUR).reminder).toBeUndefined();
    expect(fireDue(s.incident, sla, T0 + 3 * HOUR).reminder).toBeDefined();
  });
  test('is capped at the SLA deadline', () => {
    const s = snooze(schedule(incident({ severity: 'High' }), sla), sla, T0 + 100 * HOUR);
    expect(s.until).toBe(T0 + 16 * HOUR);
  });
});
