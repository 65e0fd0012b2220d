import { unlinkSync } from 'node:fs';
import { Writable } from 'node:stream';
import { T0 } from '../../test/support/factories';
import { tempDbPath } from '../../test/support/temp';
import { ManualClock } from '../core/clock';
import { createLogger } from '../core/log';
import { StoreUnavailableError } from './errors';
import { manualFault } from './fault';
import { openSqliteStore } from './sqlite-store';
import { StoreWatch } from './watch';

function world() {
  const fault = manualFault();
  const path = tempDbPath('sre-watch-');
  const store = openSqliteStore(path, { fault });
  const clock = new ManualClock(T0);
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  const queued: string[] = [];
  const direct: string[] = [];
  let directFails = 0;
  const watch = new StoreWatch({
    store,
    clock,
    log,
    timeZone: 'UTC',
    // Like the outbox: a row in the store (fails with it).
    say: (text) => {
      store.enqueue({ kind: 'message', stream: 'SRE - General', topic: 'Bot health', content: text }, clock.now());
      queued.push(text);
    },
    sayDirect: async (text) => {
      if (directFails > 0) {
        directFails--;
        throw new Error('Zulip down');
      }
      direct.push(text);
    },
  });
  const tick = async (ms = 1_000) => {
    clock.advance(ms);
    watch.tick(clock.now());
    await new Promise((r) => setImmediate(r));
  };
  return { fault, path, store, clock, lines, queued, direct, watch, tick, failDirect: (n: number) => (directFails = n) };
}

const hhmmss = new Date(T0).toISOString().slice(11, 19);
const errors = (lines: Record<string, unknown>[]) => lines.filter((l) => Number(l.level) >= 50).map((l) => l.msg);

describe('store watch', () => {
  test('an outage seen by intake: logged once, said once straight through Zulip (the outbox cannot take it), health 503; the end said once', async () => {
    const w = world();
    w.fault.set('full');
    const failing = () => w.watch.intake(() => w.store.setState('cursor', '5'));
    expect(w.watch.sawOutage).toBe(false);
    await expect(failing()).rejects.toThrow(StoreUnavailableError);
    await expect(failing()).rejects.toThrow(StoreUnavailableError);
    await w.tick();
    expect(w.watch.sawOutage).toBe(true); // a restart's look for an unfinished notice then leaves it to this process
    await w.tick();
    expect(errors(w.lines)).toEqual(['store: cannot write: database or disk is full; intake stopped until the store can write again (no message is skipped)']);
    expect(w.queued).toEqual([]);
    expect(w.direct).toEqual([
      `⚠️ My store cannot write since ${hhmmss} (database or disk is full): I hold back every alert and command — none is skipped — and handle them in order as soon as it can; I will say so here. Store: \`${w.path}\``,
    ]);
    const st = w.watch.status(w.clock.now());
    expect(st).toMatchObject({ ok: false, reason: 'store: cannot write: database or disk is full', outage: { since: T0, intakeStopped: true } });

    // Intake is held up: no probe write ends it; only intake succeeding does.
    w.fault.set(undefined);
    await w.tick();
    expect(w.watch.status(w.clock.now()).ok).toBe(false);
    await w.watch.intake(() => w.store.setState('cursor', '5'));
    expect(w.watch.status(w.clock.now())).toMatchObject({ ok: true, file: { ok: true } });
    expect(w.queued).toEqual([`✅ My store writes again (it could not since ${hhmmss}: database or disk is full): alerts and commands are handled again, none was skipped.`]);
    await w.tick();
    expect(w.direct).toHaveLength(1);
    expect(w.queued).toHaveLength(1);
    w.store.close();
  });

  test('an outage seen elsewhere (no message waiting) ends with a successful probe write; a notice Zulip refused is tried again, once it works said once', async () => {
    const w = world();
    w.failDirect(1);
    w.fault.set('readonly');
    expect(() => w.store.setState('x', '1')).toThrow(StoreUnavailableError); // e.g. a reminder round
    await w.tick();
    expect(w.direct).toEqual([]); // Zulip refused it
    await w.tick(1_000);
    expect(w.direct).toEqual([]); // tried again 2 s later
    await w.tick(1_000);
    expect(w.direct).toHaveLength(1);
    expect(w.direct[0]).toContain('attempt to write a readonly database');
    await w.tick(20_000);
    expect(w.direct).toHaveLength(1);
    w.fault.set(undefined);
    await w.tick();
    expect(w.watch.status(w.clock.now()).ok).toBe(true);
    expect(w.store.getState('store.probe')).toBe(String(w.clock.now()));
    expect(w.queued).toHaveLength(1);
    expect(w.lines.filter((l) => l.msg === 'store writes again; intake resumed')).toHaveLength(1);
    w.store.close();
  });

  test('the store file deleted: health fails with the reason; logged at error level and said once', async () => {
    const w = world();
    await w.tick();
    unlinkSync(w.path);
    expect(w.watch.status(w.clock.now())).toMatchObject({ ok: false, reason: `store: the store file ${w.path} was deleted while open: what is stored now is lost at a restart` });
    for (let n = 0; n < 5; n++) await w.tick(5_000);
    expect(errors(w.lines)).toEqual([`store: the store file ${w.path} was deleted while open: what is stored now is lost at a restart`]);
    expect(w.queued).toEqual([
      `⚠️ The store file ${w.path} was deleted while open: what is stored now is lost at a restart. I work on from the open file, and /healthz fails, until I am restarted on a restored store.`,
    ]);
    w.store.close();
  });
});
