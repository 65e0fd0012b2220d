/**
 * The PostgreSQL store (issue 22): the store contract (test/support/store-contract.ts) and what is
 * PostgreSQL's own — migrations by several instances at once, a lost connection, fencing. Needs
 * TEST_DATABASE_URL (scripts/postgres-up.sh); jest.config.js leaves this file out without it and
 * says so.
 */
import { StoreUnavailableError } from './errors';
import { openPgSession, openPostgresStore, PostgresOpenError, redactUrl } from './postgres-store';
import { incident, T0 } from '../../test/support/factories';
import { freshSchemaUrl } from '../../test/support/pg';
import { describeStore } from '../../test/support/store-contract';
import { tempDbPath } from '../../test/support/temp';
import { migrateSqliteToPostgres } from './migrate';
import { openSqliteStore } from './sqlite-store';

describeStore('PostgreSQL', () => {
  const { url } = freshSchemaUrl('contract');
  return { open: (opts = {}) => openPostgresStore(url, opts) };
});

describe('PostgreSQL store', () => {
  test('a database that cannot be reached is refused with a clear error, without the password', () => {
    expect(() => openPostgresStore('postgres://bot:s3cret@127.0.0.1:1/nowhere?connect_timeout=2')).toThrow(PostgresOpenError);
    expect(() => openPostgresStore('postgres://bot:s3cret@127.0.0.1:1/nowhere?connect_timeout=2')).toThrow(/^cannot open the store at postgres:\/\/bot:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    expect(redactUrl('postgresql://u:p@h/db')).toBe('postgresql://u:***@h/db');
    expect(redactUrl('postgres://h/db')).toBe('postgres://h/db');
  });

  test('two instances migrating at once: one runs the migrations, both open', () => {
    const { url } = freshSchemaUrl('migrate');
    const a = openPostgresStore(url);
    const b = openPostgresStore(url);
    a.setState('k', 'a');
    expect(b.getState('k')).toBe('a');
    a.close();
    b.close();
  });

  test('a lost connection is a StoreUnavailableError; the store reconnects by itself', async () => {
    const { url } = freshSchemaUrl('reconnect');
    const s = openPostgresStore(url, { applicationName: 'reconnect-test' });
    s.setState('k', '1');
    const admin = openPgSession(url, 'admin');
    expect(admin.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'reconnect-test'")).toEqual([{ ok: true }]);
    // The backend exits a moment later.
    for (const until = Date.now() + 3_000; Date.now() < until && Number(admin.query("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = 'reconnect-test'")[0]?.n) > 0; ) await new Promise((r) => setTimeout(r, 20));
    admin.close();
    expect(() => s.setState('k', '2')).toThrow(StoreUnavailableError);
    expect(s.condition().failing?.code).toMatch(/^PG_/);
    await new Promise((r) => setTimeout(r, 1_100));
    s.setState('k', '3');
    expect(s.getState('k')).toBe('3');
    expect(s.condition().failing).toBeUndefined();
    s.close();
  });

  test('a statement that fails inside a transaction fails the whole transaction (nothing half-written); inside a nested one, only that one', () => {
    const { url } = freshSchemaUrl('aborted');
    const s = openPostgresStore(url);
    s.transaction(() => {
      s.setState('n1', '1');
      // putIncident is a transaction of its own: a savepoint, rolled back alone, as in SQLite.
      expect(() => s.putIncident(incident({ eventId: '1', host: null as unknown as string }))).toThrow(/null value/);
      s.setState('n2', '1');
    });
    expect([s.getState('n1'), s.getState('n2'), s.getIncident('1')]).toEqual(['1', '1', undefined]);
    expect(() =>
      s.transaction(() => {
        s.setState('a', '1');
        try {
          s.addLog({ eventId: null as unknown as string, at: T0, kind: 'note' });
        } catch {
          // a hook's boundary swallowing a bug: PostgreSQL aborted the transaction all the same
        }
        s.setState('b', '1');
      }),
    ).toThrow(/null value/);
    expect([s.getState('a'), s.getState('b')]).toEqual([undefined, undefined]);
    s.setState('c', '1');
    expect(s.getState('c')).toBe('1');
    s.close();
  });

  test('fencing: after another instance takes the lease over, every write of the deposed one fails and nothing lands', () => {
    const { url } = freshSchemaUrl('fence');
    const old = openPostgresStore(url);
    let fenced = 0;
    const deposed = openPostgresStore(url, { onFenced: () => fenced++ });
    deposed.fence(0);
    deposed.setState('k', 'old');
    const admin = openPgSession(url);
    admin.query("UPDATE ha_lease SET token = token + 1 WHERE name = 'leader'");
    admin.close();
    expect(() => deposed.setState('k', 'late')).toThrow(StoreUnavailableError);
    expect(() => deposed.transaction(() => deposed.putIncident(incident({ eventId: '9' })))).toThrow(/another instance took the lease over/);
    expect(() => deposed.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'x' }, T0)).toThrow(StoreUnavailableError);
    expect(deposed.getState('k')).toBe('old');
    expect(old.getIncident('9')).toBeUndefined();
    expect(old.size()).toBe(0);
    deposed.close();
    old.close();
    return new Promise<void>((r) => setTimeout(() => {
      expect(fenced).toBe(1);
      r();
    }, 10));
  });
});

describe('migrate --from sqlite:PATH --to postgres://…', () => {
  test('copies the state into an empty database; the copy reads the same; ids go on after the copied ones; a second copy is refused', () => {
    const path = tempDbPath('sre-migrate-');
    const lite = openSqliteStore(path);
    lite.putIncident(incident({ eventId: '1', acknowledgedBy: 'Ann', acknowledgedAt: T0 + 1, status: 'acknowledged', timers: { remindersSent: 1, warningsSent: ['resolve-75'], nextDueAt: T0 + 5 } }), { eventId: '1', at: T0, kind: 'opened', actor: 'Zabbix' });
    lite.setState('zulip.lastMessageId', '4242');
    const queued = lite.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'still to send' }, T0, 'reply');
    lite.enqueueJob('zabbix.ack', { eventId: '1' }, T0);
    lite.recordHandover({ to: { id: 1, name: 'Ann' }, by: 'Ann', at: T0, forced: false });
    lite.linkGitlabIssue('1', { iid: 3, webUrl: 'https://gl/3', title: 'T', state: 'opened' }, T0);
    lite.close();
    const { url } = freshSchemaUrl('migrate');
    const counts = migrateSqliteToPostgres(path, url);
    expect(counts.get('incidents')).toBe(1);
    expect(counts.get('outbox')).toBe(1);
    const pg = openPostgresStore(url);
    const again = openSqliteStore(path);
    expect(pg.getIncident('1')).toEqual(again.getIncident('1'));
    expect(pg.history('1')).toEqual(again.history('1'));
    expect(pg.getState('zulip.lastMessageId')).toBe('4242');
    expect(pg.peek()).toEqual(again.peek());
    expect(pg.peek()?.id).toBe(queued);
    expect(pg.dueJobs(T0, 10)).toEqual(again.dueJobs(T0, 10));
    expect(pg.handovers(5)).toEqual(again.handovers(5));
    expect(pg.gitlabIssueOf('1')).toEqual(again.gitlabIssueOf('1'));
    expect(pg.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'next' }, T0)).toBeGreaterThan(queued);
    again.close();
    pg.close();
    expect(() => migrateSqliteToPostgres(path, url)).toThrow(/already holds data/);
  });
});
