import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDbPath } from '../../test/support/temp';
import { acquireStoreLock, StoreLockedError } from './lock';

const T = Date.UTC(2026, 10, 23, 9);
const opts = (pid: number, more: Partial<Parameters<typeof acquireStoreLock>[1]> = {}) => ({ pid, host: 'h1', now: () => T, bootId: () => 'boot-1', isRunning: () => true, ...more });

describe('one bot per store', () => {
  test('the first takes the lock; a second is refused naming the holder; release frees it', () => {
    const db = tempDbPath('sre-lock-');
    const lock = acquireStoreLock(db, opts(100));
    expect(lock.lockPath).toBe(`${db}.lock`);
    expect(JSON.parse(readFileSync(`${db}.lock`, 'utf8'))).toEqual({ pid: 100, host: 'h1', startedAt: '2026-11-23T09:00:00.000Z', bootId: 'boot-1' });
    let refused: unknown;
    try {
      acquireStoreLock(db, opts(200));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect((refused as Error).message).toBe(`store ${db} is in use by pid 100 on host h1 (started 2026-11-23T09:00:00.000Z); only one bot may run on a store. If that process is gone, remove ${db}.lock`);
    lock.release();
    lock.release();
    expect(existsSync(`${db}.lock`)).toBe(false);
    acquireStoreLock(db, opts(200)).release();
  });

  test('a lock left by a dead process on this host is taken over; one of another host never is', () => {
    const db = tempDbPath('sre-lock-');
    acquireStoreLock(db, opts(100)); // never released: the process "died"
    const mine = acquireStoreLock(db, opts(200, { isRunning: (pid) => pid !== 100 }));
    expect(JSON.parse(readFileSync(`${db}.lock`, 'utf8'))).toMatchObject({ pid: 200 });
    mine.release();

    acquireStoreLock(db, opts(100, { host: 'other-host' }));
    expect(() => acquireStoreLock(db, opts(200, { isRunning: () => false }))).toThrow('is in use by pid 100 on host other-host');
  });

  test('a lock with this very pid (a container restarted: the bot is pid 1 again) or from before a reboot is stale', () => {
    const db = tempDbPath('sre-lock-');
    acquireStoreLock(db, opts(1));
    acquireStoreLock(db, opts(1)).release();
    acquireStoreLock(db, opts(7));
    acquireStoreLock(db, opts(8, { bootId: () => 'boot-2' })).release();
  });

  test('an unreadable lock file is not taken over', () => {
    const db = tempDbPath('sre-lock-');
    writeFileSync(`${db}.lock`, 'garbage');
    expect(() => acquireStoreLock(db, opts(200, { isRunning: () => false }))).toThrow(`its lock file ${db}.lock exists but cannot be read`);
  });

  test('release leaves a lock that is not its own', () => {
    const db = tempDbPath('sre-lock-');
    const lock = acquireStoreLock(db, opts(100));
    writeFileSync(`${db}.lock`, JSON.stringify({ pid: 300, host: 'h1', startedAt: 'x' }));
    lock.release();
    expect(existsSync(`${db}.lock`)).toBe(true);
  });
});
