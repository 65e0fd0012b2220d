import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openSqliteStore, StoreOpenError } from './sqlite-store';
import { describeStore } from '../../test/support/store-contract';
import { tempDbPath } from '../../test/support/temp';
import { Rng } from '../../test/support/prng';
import { incident } from '../../test/support/factories';
import type { Incident } from '../domain/incident';

const tmp = () => tempDbPath('sre-bot-store-');

// What every store must do (test/support/store-contract.ts), on SQLite; postgres-store.test.ts runs it on PostgreSQL.
describeStore('SQLite', () => {
  const path = tmp();
  return { open: (opts = {}) => openSqliteStore(path, opts) };
});

describe('SQLite store', () => {
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

describe('the outbox kept in memory (SqliteStore.outboxView)', () => {
  // What the file holds, read by another connection, in the order the sender takes it.
  function onFile(path: string): { id: number; item: unknown; attempts: number; notBefore: number; priority: number }[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare<[], { id: number; item: string; attempts: number; not_before: number; priority: number }>('SELECT * FROM outbox ORDER BY priority, id').all()
        .map((r) => ({ id: r.id, item: JSON.parse(r.item) as unknown, attempts: r.attempts, notBefore: r.not_before, priority: r.priority }));
    } finally {
      db.close();
    }
  }
  const PRIORITY = { reply: 0, notice: 1, bulk: 2 } as const;

  test('after any mix of queueing, sending, rescheduling, undone transactions, renames and dropped cards, it says what the file holds', () => {
    const path = tmp();
    const s = openSqliteStore(path);
    const rng = new Rng(20261130);
    const lanes = ['reply', 'notice', 'bulk'] as const;
    const topics = ['web-01', 'web-02', '✔ web-01'];
    let n = 0;
    for (let step = 0; step < 600; step++) {
      const ids = s.pending(1000).map((r) => r.id);
      const op = rng.int(0, 9);
      const topic = rng.pick(topics) as string;
      if (op <= 3) s.enqueue(rng.int(0, 1) ? { kind: 'message', stream: 'S', topic, content: `m${n++}` } : { kind: 'card', key: `k${rng.int(0, 2)}`, stream: 'S', topic, content: `c${n++}` }, step, rng.pick(lanes));
      else if (op === 4 && ids.length) s.remove(rng.pick(ids) as number);
      else if (op === 5 && ids.length) s.reschedule(rng.pick(ids) as number, step + rng.int(0, 50), rng.int(0, 3));
      else if (op === 6) {
        // Queued and sent in a transaction that fails: undone, in the file and in memory.
        expect(() => s.transaction(() => {
          s.enqueue({ kind: 'reaction', messageId: n++, emojiName: 'repeat' }, step, 'reply');
          if (ids.length) s.remove(ids[0] as number);
          if (ids.length > 1) s.reschedule(ids[1] as number, step + 99, 7);
          throw new Error('a module failed');
        })).toThrow('a module failed');
      } else if (op === 7) s.transaction(() => s.enqueue({ kind: 'direct', to: ['ann@example.org'], content: `d${n++}` }, step, rng.pick(lanes)));
      else if (op === 8) s.moveTopic({ stream: 'S', topic }, { stream: 'S', topic: rng.pick(topics) as string });
      else s.dropQueuedCard(`k${rng.int(0, 2)}`);
      const file = onFile(path);
      const seen = s.pending(1000);
      expect(seen.map((r) => ({ id: r.id, item: r.item, attempts: r.attempts, notBefore: r.notBefore, priority: PRIORITY[r.lane ?? 'notice'] }))).toEqual(file);
      expect(s.size()).toBe(file.length);
      expect(s.peek()?.id).toBe(file[0]?.id);
    }
    s.close();
  });

  test('a row handed out cannot be changed by its reader (the same row is handed out again)', () => {
    const s = openSqliteStore(tmp());
    s.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'x' }, 1);
    s.pending(10);
    const [row] = s.pending(10);
    expect(Object.isFrozen(row)).toBe(true);
    expect(Object.isFrozen(row?.item)).toBe(true);
    s.close();
  });

  test('an outbox larger than the view is read from the file, in order', () => {
    const path = tmp();
    const s = openSqliteStore(path);
    for (let i = 0; i < 300; i++) s.enqueue({ kind: 'message', stream: 'S', topic: `t${i % 7}`, content: `m${i}` }, i, i % 3 === 0 ? 'bulk' : 'notice');
    expect(s.pending(1000).map((r) => r.id)).toEqual(onFile(path).map((r) => r.id));
    for (const r of s.pending(250)) s.remove(r.id);
    s.enqueue({ kind: 'reaction', messageId: 1, emojiName: 'repeat' }, 400, 'reply');
    expect(s.pending(1000).map((r) => r.id)).toEqual(onFile(path).map((r) => r.id));
    expect(s.size()).toBe(51);
    s.close();
  });
});

describe('incidents kept in memory (SqliteStore.incidentCache)', () => {
  function onFile(path: string, eventId: string): Record<string, unknown> | undefined {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare<[string], Record<string, unknown>>('SELECT stream, topic, status, alert_count, last_alert_message_id, acknowledged_by, resolved_at, reminders_sent, warnings_sent FROM incidents WHERE event_id = ?').get(eventId);
    } finally {
      db.close();
    }
  }
  const asRow = (i: Incident | undefined) =>
    i && { stream: i.stream, topic: i.topic, status: i.status, alert_count: i.alertCount, last_alert_message_id: i.lastAlertMessageId, acknowledged_by: i.acknowledgedBy ?? null, resolved_at: i.resolvedAt ?? null, reminders_sent: i.timers?.remindersSent ?? 0, warnings_sent: JSON.stringify(i.timers?.warningsSent ?? []) };

  test('after writes whole or in part, undone transactions, topic moves and stale callers, a read says what the file holds', () => {
    const path = tmp();
    const s = openSqliteStore(path);
    const rng = new Rng(7);
    const ids = ['e1', 'e2', 'e3', 'e4'];
    const topics = ['web-01', 'web-02', '✔ web-01'];
    for (let step = 0; step < 500; step++) {
      const id = rng.pick(ids) as string;
      const known = s.getIncident(id);
      const op = rng.int(0, 7);
      const next = (from: Incident | undefined): Incident =>
        incident({ ...(from ?? { eventId: id, topic: rng.pick(topics) as string }), alertCount: (from?.alertCount ?? 0) + 1, lastAlertMessageId: step, timers: { remindersSent: rng.int(0, 3), warningsSent: rng.int(0, 1) ? ['acknowledge-75'] : [] } } as Partial<Incident>);
      if (op <= 2) s.putIncident(next(known), undefined, known); // a repeat: the changed columns only
      else if (op === 3) s.putIncident(next(known)); // whole
      else if (op === 4 && known) s.putIncident({ ...known, status: 'acknowledged', acknowledgedBy: 'Ann', alertCount: known.alertCount + 5 }, undefined, incident({ eventId: id, stream: 'elsewhere' })); // `before` not what is known
      else if (op === 5) {
        expect(() => s.transaction(() => {
          s.putIncident(next(known), undefined, known);
          throw new Error('undone');
        })).toThrow('undone');
      } else if (op === 6) s.moveTopic({ stream: 'SRE # Critical', topic: rng.pick(topics) as string }, { stream: 'SRE # Critical', topic: rng.pick(topics) as string });
      else s.transaction(() => s.putIncident({ ...next(known), status: 'resolved', resolvedAt: step }, undefined, known));
      for (const e of ids) expect(asRow(s.getIncident(e))).toEqual(onFile(path, e));
    }
    s.close();
  });

  test('an incident handed out cannot be changed by its reader', () => {
    const s = openSqliteStore(tmp());
    s.putIncident(incident({ eventId: 'x', timers: { remindersSent: 0, warningsSent: [] } }));
    const i = s.getIncident('x') as Incident;
    expect(Object.isFrozen(i)).toBe(true);
    expect(() => (i.timers?.warningsSent as string[]).push('acknowledge-75')).toThrow(TypeError);
    expect(s.getIncident('x')?.timers?.warningsSent).toEqual([]);
    s.close();
  });
});
