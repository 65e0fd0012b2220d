import { writeFileSync } from 'node:fs';
import { openSqliteStore, StoreOpenError } from './sqlite-store';
import { incident, T0 } from '../../test/support/factories';
import { tempDbPath } from '../../test/support/temp';

const tmp = () => tempDbPath('sre-bot-store-');

describe('SQLite store', () => {
  test('incidents survive closing and reopening, with their history', () => {
    const path = tmp();
    const s1 = openSqliteStore(path);
    s1.putIncident(incident({ eventId: '1', acknowledgedBy: 'Ann', acknowledgedAt: T0 + 1, status: 'acknowledged', ackNote: 'on it' }), { eventId: '1', at: T0, kind: 'opened', actor: 'Zabbix' });
    s1.putIncident(incident({ eventId: '2', status: 'resolved', resolvedAt: T0 + 5, resolvedBy: 'Zabbix', resolution: 'ok-alert' }));
    s1.setState('cursor', '123');
    s1.close();
    const s2 = openSqliteStore(path);
    expect(s2.getIncident('1')).toEqual({
      ...incident({ eventId: '1', acknowledgedBy: 'Ann', acknowledgedAt: T0 + 1, status: 'acknowledged', ackNote: 'on it' }),
      timers: { remindersSent: 0, warningsSent: [] },
    });
    expect(s2.openIncidents().map((i) => i.eventId)).toEqual(['1']);
    expect(s2.history('1')).toEqual([{ eventId: '1', at: T0, kind: 'opened', actor: 'Zabbix' }]);
    expect(s2.getState('cursor')).toBe('123');
    expect(s2.getIncident('nope')).toBeUndefined();
    s2.close();
  });

  test('timers round-trip; due incidents are found by their next due time', () => {
    const s = openSqliteStore(tmp());
    const timers = { remindersSent: 2, warningsSent: ['resolve-75' as const], nextReminderAt: T0 + 100, lastReminderAt: T0 + 50, snoozedUntil: T0 + 80, nextDueAt: T0 + 80 };
    s.putIncident(incident({ eventId: '1', timers }));
    s.putIncident(incident({ eventId: '2', timers: { remindersSent: 0, warningsSent: [], nextDueAt: T0 + 500 } }));
    s.putIncident(incident({ eventId: '3', status: 'resolved', timers: { remindersSent: 0, warningsSent: [], nextDueAt: T0 } }));
    expect(s.getIncident('1')?.timers).toEqual(timers);
    expect(s.nextDueAt()).toBe(T0 + 80);
    expect(s.dueIncidents(T0 + 100).map((i) => i.eventId)).toEqual(['1']);
    expect(s.dueIncidents(T0 + 1000).map((i) => i.eventId)).toEqual(['1', '2']);
    s.close();
  });

  test('topics are followed through renames', () => {
    const s = openSqliteStore(tmp());
    s.putIncident(incident({ eventId: '1', stream: 'A', topic: 'host' }));
    s.putIncident(incident({ eventId: '2', stream: 'A', topic: 'other' }));
    expect(s.moveTopic({ stream: 'A', topic: 'host' }, { stream: 'B', topic: '✔ host' })).toBe(1);
    expect(s.incidentsInTopic({ stream: 'B', topic: '✔ host' }).map((i) => i.eventId)).toEqual(['1']);
    expect(s.incidentsInTopic({ stream: 'A', topic: 'host' })).toEqual([]);
    s.close();
  });

  test('a transaction that throws writes nothing', () => {
    const s = openSqliteStore(tmp());
    expect(() =>
      s.transaction(() => {
        s.putIncident(incident({ eventId: '1' }));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.getIncident('1')).toBeUndefined();
    s.close();
  });

  test('the outbox keeps order and survives restarts', () => {
    const path = tmp();
    const s = openSqliteStore(path);
    s.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'one' }, T0);
    s.enqueue({ kind: 'reaction', messageId: 9, emojiName: 'repeat' }, T0);
    s.close();
    const s2 = openSqliteStore(path);
    expect(s2.size()).toBe(2);
    const first = s2.peek()!;
    expect(first.item).toEqual({ kind: 'message', stream: 'S', topic: 't', content: 'one' });
    s2.reschedule(first.id, T0 + 1000, 1);
    expect(s2.peek()).toMatchObject({ id: first.id, attempts: 1, notBefore: T0 + 1000 });
    s2.remove(first.id);
    expect(s2.peek()!.item).toEqual({ kind: 'reaction', messageId: 9, emojiName: 'repeat' });
    s2.close();
  });

  test('a corrupt file is refused with a clear error', () => {
    const path = tmp();
    writeFileSync(path, 'this is not a database '.repeat(200));
    expect(() => openSqliteStore(path)).toThrow(StoreOpenError);
    expect(() => openSqliteStore(path)).toThrow(/cannot open the store at .*bot\.db/);
  });

  test('an unwritable location is refused with a clear error', () => {
    expect(() => openSqliteStore('/proc/no-such-dir/bot.db')).toThrow(/cannot open the store/);
  });
});
