/**
 * Leader election (src/store/lease.ts) on a real PostgreSQL: needs TEST_DATABASE_URL
 * (scripts/postgres-up.sh); jest.config.js leaves this file out without it and says so.
 */
import { createLogger } from '../core/log';
import { Lease } from './lease';
import { openPgSession, openPostgresStore } from './postgres-store';
import { freshSchemaUrl } from '../../test/support/pg';

const log = createLogger('silent');

/** The backend of a terminated session exits (and its lock goes) a moment later: tries for up to `ms`. */
async function takeWithin(l: Lease, ms: number) {
  const until = Date.now() + ms;
  for (;;) {
    const r = l.tryTake();
    if (r.taken || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('one instance holds the lease; when its session ends another takes over with a new token, and the deposed one cannot write', async () => {
  const { url } = freshSchemaUrl('lease');
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  const la = new Lease(a, { failoverMs: 30_000, holder: 'a', log });
  const lb = new Lease(b, { failoverMs: 30_000, holder: 'b', log });
  const ta = la.tryTake();
  expect(ta).toEqual({ taken: true, token: 1 });
  expect(lb.tryTake()).toMatchObject({ taken: false, held: { holder: 'a', token: 1 } });
  expect(la.renew()).toEqual({ ok: true });
  a.setState('k', 'a');
  // The leader's lease session ends (its process died, its connection was cut).
  const admin = openPgSession(url, 'admin');
  admin.query('SELECT pg_terminate_backend(holder_pid) FROM ha_lease');
  admin.close();
  expect(await takeWithin(lb, 3_000)).toEqual({ taken: true, token: 2 });
  expect(b.fencedBy).toBe(2);
  expect(() => a.setState('k', 'late')).toThrow(/another instance took the lease over/);
  expect(la.renew()).toMatchObject({ ok: false });
  expect(la.held).toBe(false);
  b.setState('k', 'b');
  expect(a.getState('k')).toBe('b');
  lb.release();
  expect(await takeWithin(la, 3_000)).toEqual({ taken: true, token: 3 });
  la.release();
  a.close();
  b.close();
});

test('a holder that stops renewing for `failover` has its session ended by a standby, which takes over', async () => {
  const { url } = freshSchemaUrl('lease');
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  const la = new Lease(a, { failoverMs: 400, holder: 'a', log });
  const lb = new Lease(b, { failoverMs: 400, holder: 'b', log });
  expect(la.tryTake()).toMatchObject({ taken: true });
  expect(lb.tryTake()).toMatchObject({ taken: false });
  await new Promise((r) => setTimeout(r, 600)); // a hangs: no renewal
  expect(lb.tryTake()).toMatchObject({ taken: false, held: { holder: 'a' } }); // ends a's session
  expect(await takeWithin(lb, 3_000)).toMatchObject({ taken: true, token: 2 });
  expect(la.renew()).toMatchObject({ ok: false });
  lb.release();
  a.close();
  b.close();
});
