/** The store when SQLite fails: typed errors, what it remembers, the outbox meanwhile, the file on disk. */
import { closeSync, openSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { incident, T0 } from '../../test/support/factories';
import { tempDbPath } from '../../test/support/temp';
import { StoreCorruptError, StoreUnavailableError, translateSqliteError } from './errors';
import { manualFault } from './fault';
import { openSqliteStore } from './sqlite-store';

const message = (content: string) => ({ kind: 'message' as const, stream: 'S', topic: 't', content });

describe('SQLite errors become store errors', () => {
  test('codes that mean "cannot now" are StoreUnavailableError, corruption is StoreCorruptError, bugs stay as they are', () => {
    const err = (code: string, msg: string) => translateSqliteError(new Database.SqliteError(msg, code));
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN']) {
      expect(err(code, 'x')).toBeInstanceOf(StoreUnavailableError);
    }
    expect(err('SQLITE_FULL', 'database or disk is full')).toMatchObject({ code: 'SQLITE_FULL', reason: 'cannot write: database or disk is full', message: 'store: cannot write: database or disk is full' });
    for (const code of ['SQLITE_CORRUPT', 'SQLITE_CORRUPT_INDEX', 'SQLITE_NOTADB']) expect(err(code, 'x')).toBeInstanceOf(StoreCorruptError);
    const bug = new Database.SqliteError('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_UNIQUE');
    expect(translateSqliteError(bug)).toBe(bug);
    const plain = new Error('not SQLite');
    expect(translateSqliteError(plain)).toBe(plain);
  });
});

describe('a store that cannot write (injected: disk full)', () => {
  test('writes throw StoreUnavailableError, from a transaction too, and nothing lands; reads still work', () => {
    const fault = manualFault();
    const s = openSqliteStore(tempDbPath('sre-fault-'), { fault });
    s.putIncident(incident({ eventId: '1' }));
    fault.set('full');
    expect(() => s.putIncident(incident({ eventId: '2' }))).toThrow(StoreUnavailableError);
    expect(() => s.setState('k', 'v')).toThrow('store: cannot write: database or disk is full');
    expect(() =>
      s.transaction(() => {
        s.getIncident('1');
        s.setState('cursor', '99');
      }),
    ).toThrow(StoreUnavailableError);
    expect(() => s.transaction(() => s.enqueue(message('hello'), T0))).toThrow(StoreUnavailableError);
    expect(s.getIncident('1')?.eventId).toBe('1');
    expect(s.openIncidents().map((i) => i.eventId)).toEqual(['1']);
    fault.set(undefined);
    expect(s.getIncident('2')).toBeUndefined();
    expect(s.getState('cursor')).toBeUndefined();
    expect(s.size()).toBe(0);
    s.close();
  });

  test('the store remembers it fails until a write succeeds again (a read-only transaction does not count)', () => {
    const fault = manualFault();
    const s = openSqliteStore(tempDbPath('sre-fault-'), { fault });
    expect(s.condition()).toEqual({ failures: 0 });
    fault.set('ioerr');
    expect(() => s.setState('k', 'v')).toThrow(StoreUnavailableError);
    expect(() => s.setState('k', 'v')).toThrow(StoreUnavailableError);
    expect(s.condition()).toEqual({ failing: { code: 'SQLITE_IOERR_WRITE', reason: 'cannot write: disk I/O error' }, failures: 2 });
    fault.set(undefined);
    s.transaction(() => s.getState('k'));
    expect(s.condition().failing).toBeDefined();
    s.transaction(() => s.setState('k', 'v'));
    expect(s.condition()).toEqual({ failures: 2 });
    s.close();
  });

  test('a real SQLITE_BUSY (another connection holds the write lock past the busy timeout) is a StoreUnavailableError', () => {
    const path = tempDbPath('sre-busy-');
    const s = openSqliteStore(path);
    const other = new Database(path);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      expect(() => s.transaction(() => s.setState('k', 'v'))).toThrow(StoreUnavailableError);
      expect(s.condition().failing?.code).toMatch(/^SQLITE_BUSY/);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    s.setState('k', 'v');
    expect(s.condition().failing).toBeUndefined();
    s.close();
  }, 20_000);

  test('the outbox meanwhile: a sent item whose removal cannot be written is held in memory, and nothing else is offered until it is written', () => {
    const fault = manualFault();
    const s = openSqliteStore(tempDbPath('sre-fault-'), { fault });
    s.enqueue(message('one'), T0);
    s.enqueue(message('two'), T0);
    const first = s.peek()!;
    fault.set('full');
    expect(() => s.remove(first.id)).not.toThrow();
    expect(() => s.reschedule(first.id, T0 + 5, 1)).not.toThrow();
    const second = s.pending(10);
    expect(second).toEqual([]); // a send that could not be recorded would be sent again
    expect(s.peek()).toBeUndefined();
    expect(s.size()).toBe(1);
    expect(() => s.reschedule(first.id + 1, T0 + 99, 3)).not.toThrow(); // held too, written later
    fault.set(undefined);
    expect(s.pending(10)).toEqual([]); // until a write shows the store works (the store watch probes)
    s.setState('probe', '1');
    expect(s.pending(10).map((r) => ({ item: r.item, notBefore: r.notBefore, attempts: r.attempts }))).toEqual([{ item: message('two'), notBefore: T0 + 99, attempts: 3 }]);
    expect(s.peek()?.item).toEqual(message('two'));
    s.close();
  });

  test('a job done while the store cannot write is marked done once it can; no job is offered meanwhile', () => {
    const fault = manualFault();
    const s = openSqliteStore(tempDbPath('sre-fault-'), { fault });
    const a = s.enqueueJob('k', { n: 1 }, T0);
    s.enqueueJob('k', { n: 2 }, T0);
    fault.set('full');
    expect(() => s.finishJob(a)).not.toThrow();
    expect(s.dueJobs(T0, 10)).toEqual([]);
    expect(s.nextJobAt()).toBeUndefined();
    expect(s.jobCount()).toBe(1);
    fault.set(undefined);
    s.setState('probe', '1');
    expect(s.dueJobs(T0, 10).map((j) => j.payload)).toEqual([{ n: 2 }]);
    s.close();
  });

  test('a removal still held at close is written if it can be', () => {
    const fault = manualFault();
    const path = tempDbPath('sre-fault-');
    const s = openSqliteStore(path, { fault });
    const id = s.enqueue(message('one'), T0);
    fault.set('full');
    s.remove(id);
    fault.set(undefined);
    s.close();
    const again = openSqliteStore(path);
    expect(again.size()).toBe(0);
    again.close();
  });
});

describe('a corrupt store while running', () => {
  test('SQLITE_CORRUPT from a real damaged page: StoreCorruptError, and onCorrupt is told first', () => {
    const path = tempDbPath('sre-corrupt-');
    const seen: StoreCorruptError[] = [];
    const s = openSqliteStore(path, { onCorrupt: (e) => seen.push(e) });
    for (let n = 0; n < 30; n++) s.putIncident(incident({ eventId: String(n), triggerName: 'x'.repeat(300) }));
    const other = new Database(path);
    other.pragma('wal_checkpoint(TRUNCATE)');
    const root = (other.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'incidents'").get() as { rootpage: number }).rootpage;
    const pageSize = other.pragma('page_size', { simple: true }) as number;
    other.prepare("INSERT OR REPLACE INTO state (key, value) VALUES ('touch', '1')").run(); // the store drops its page cache
    other.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    closeSync(fd);
    expect(() => s.openIncidents()).toThrow(StoreCorruptError);
    expect(seen.map((e) => e.reason)).toEqual(['the database file is corrupt: database disk image is malformed']);
    s.close();
  });
});

describe('the file on disk', () => {
  test('is the open database until it is deleted or replaced', () => {
    const path = tempDbPath('sre-file-');
    const s = openSqliteStore(path);
    expect(s.checkFile()).toEqual({ ok: true });
    unlinkSync(path);
    expect(s.checkFile()).toEqual({ ok: false, reason: `the store file ${path} was deleted while open: what is stored now is lost at a restart` });
    s.setState('still', 'works'); // the open (unlinked) file takes writes: only the check sees it
    writeFileSync(`${path}.new`, '');
    renameSync(`${path}.new`, path);
    expect(s.checkFile()).toMatchObject({ ok: false, reason: expect.stringContaining('was replaced by another file while open') });
    s.close();
  });
});
