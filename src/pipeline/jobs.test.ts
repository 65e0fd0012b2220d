/** The after-commit job runner over a real SQLite store: runs, retries with backoff, says a failure once, gives up, survives a restart. */
import { ManualClock } from '../core/clock';
import { silentLogger } from '../core/log';
import { openSqliteStore } from '../store/sqlite-store';
import type { JobRow, Store } from '../store/store';
import { JobRunner, type JobHandler } from './jobs';
import { T0 } from '../../test/support/factories';
import { tempDbPath } from '../../test/support/temp';

type Payload = { n: number };

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function open(path = tempDbPath('sre-jobs-')): { store: Store; path: string } {
  const store = openSqliteStore(path);
  stores.push(store);
  return { store, path };
}

/** A handler that records its calls and fails while `failures` lasts. */
function handler(p: Partial<JobHandler<Payload>> & { failures?: number } = {}) {
  const calls: { payload: Payload; attempt: number }[] = [];
  const reported: { payload: Payload; error: string }[] = [];
  const gaveUp: { payload: Payload; error: string }[] = [];
  let failures = p.failures ?? 0;
  const h: JobHandler<Payload> = {
    kind: 'test.job',
    run: async (payload, ctx) => {
      calls.push({ payload, attempt: ctx.attempt });
      if (failures > 0) {
        failures--;
        throw new Error(`failure ${calls.length}`);
      }
    },
    reportFailure: (payload, err) => void reported.push({ payload, error: err.message }),
    giveUp: (payload, err) => void gaveUp.push({ payload, error: err.message }),
    ...p,
  };
  return { h, calls, reported, gaveUp };
}

function runner(store: Store, clock: ManualClock, handlers: JobHandler<Payload>[], extra: { random?: () => number; concurrency?: number; onFailure?: (kind: string) => void } = {}) {
  return new JobRunner({ store, clock, log: silentLogger, handlers: handlers as unknown as JobHandler<never>[], backoff: { baseMs: 1_000, maxMs: 60_000 }, random: () => 1, ...extra });
}

/** Every queued job, whether due or not. */
const rows = (store: Store): JobRow[] => store.dueJobs(Number.MAX_SAFE_INTEGER, 100);

test('runs a queued job once with its payload, then it is gone', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h, calls } = handler();
  const r = runner(store, clock, [h]);
  r.enqueue('test.job', { n: 1 });
  expect(r.depth).toBe(1);
  expect(rows(store)).toEqual([expect.objectContaining({ kind: 'test.job', payload: { n: 1 }, runAt: T0, attempts: 0, reported: false, createdAt: T0 })]);
  await r.runDue();
  expect(calls).toEqual([{ payload: { n: 1 }, attempt: 1 }]);
  expect(store.jobCount()).toBe(0);
  expect(r.stats).toEqual({ done: 1, failed: 0, gaveUp: 0 });
  await r.runDue();
  expect(calls).toHaveLength(1);
});

test('a failing job is retried with backoff: runAt moves forward on the runner’s clock, attempts count up', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const failures: string[] = [];
  const { h, calls } = handler({ failures: 3 });
  const r = runner(store, clock, [h], { onFailure: (kind) => failures.push(kind) });
  r.enqueue('test.job', { n: 1 });

  await r.runDue(); // attempt 1 fails: backoff 1 s (base)
  expect(rows(store)).toEqual([expect.objectContaining({ runAt: T0 + 1_000, attempts: 1, lastError: 'failure 1', reported: true })]);
  await r.runDue(); // not due yet
  expect(calls).toHaveLength(1);

  clock.advance(999);
  await r.runDue();
  expect(calls).toHaveLength(1);
  clock.advance(1);
  await r.runDue(); // attempt 2 fails: backoff 2 s (random 1: the cap)
  expect(rows(store)).toEqual([expect.objectContaining({ runAt: T0 + 1_000 + 2_000, attempts: 2, lastError: 'failure 2' })]);

  clock.set(T0 + 3_000);
  await r.runDue(); // attempt 3 fails: backoff 4 s
  expect(rows(store)).toEqual([expect.objectContaining({ runAt: T0 + 3_000 + 4_000, attempts: 3 })]);

  clock.set(T0 + 7_000);
  await r.runDue(); // attempt 4 succeeds
  expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
  expect(store.jobCount()).toBe(0);
  expect(failures).toEqual(['test.job', 'test.job', 'test.job']);
  expect(r.stats).toEqual({ done: 1, failed: 3, gaveUp: 0 });
});

test('the backoff is capped by maxMs', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h } = handler({ failures: 100, maxAttempts: 100 });
  const r = runner(store, clock, [h]);
  r.enqueue('test.job', { n: 1 });
  for (let i = 0; i < 10; i++) {
    clock.set(rows(store)[0]!.runAt);
    await r.runDue();
  }
  const [row] = rows(store);
  expect(row!.attempts).toBe(10);
  expect(row!.runAt - clock.now()).toBe(60_000);
});

test('a failure is reported once across several failures', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h, reported } = handler({ failures: 4 });
  const r = runner(store, clock, [h]);
  r.enqueue('test.job', { n: 7 });
  for (let i = 0; i < 5; i++) {
    await r.runDue();
    clock.advance(60_000);
  }
  expect(store.jobCount()).toBe(0);
  expect(reported).toEqual([{ payload: { n: 7 }, error: 'failure 1' }]);
});

test('gives up after maxAttempts: giveUp once, the job is dropped, no report on the last attempt', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h, calls, reported, gaveUp } = handler({ failures: 100, maxAttempts: 3 });
  const r = runner(store, clock, [h]);
  r.enqueue('test.job', { n: 1 });
  for (let i = 0; i < 5; i++) {
    await r.runDue();
    clock.advance(60_000);
  }
  expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
  expect(reported).toEqual([{ payload: { n: 1 }, error: 'failure 1' }]);
  expect(gaveUp).toEqual([{ payload: { n: 1 }, error: 'failure 3' }]);
  expect(store.jobCount()).toBe(0);
  expect(r.stats).toEqual({ done: 0, failed: 3, gaveUp: 1 });
});

test('a job of a kind no module handles any more is dropped; enqueueing an unknown kind throws', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h, calls } = handler();
  const r = runner(store, clock, [h]);
  store.enqueueJob('removed.kind', { x: 1 }, T0); // queued by an earlier configuration
  r.enqueue('test.job', { n: 1 });
  await r.runDue();
  expect(store.jobCount()).toBe(0);
  expect(calls).toHaveLength(1);
  expect(() => r.enqueue('removed.kind', {})).toThrow(/no module handles job kind removed\.kind/);
  expect(store.jobCount()).toBe(0);
});

test('a kind handled twice is refused', () => {
  const { store } = open();
  expect(() => runner(store, new ManualClock(T0), [handler().h, handler().h])).toThrow(/handled twice/);
});

test('a job enqueued in a transaction that rolls back is not kept', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h, calls } = handler();
  const r = runner(store, clock, [h]);
  expect(() =>
    store.transaction(() => {
      r.enqueue('test.job', { n: 1 });
      throw new Error('the change failed');
    }),
  ).toThrow('the change failed');
  expect(store.jobCount()).toBe(0);
  await r.runDue();
  expect(calls).toEqual([]);
});

test('durable: a queued job survives closing and reopening the store and runs after', async () => {
  const first = open();
  const clock = new ManualClock(T0);
  const before = handler();
  runner(first.store, clock, [before.h]).enqueue('test.job', { n: 42 });
  first.store.close();
  expect(before.calls).toEqual([]);

  const second = open(first.path);
  const after = handler();
  const r = runner(second.store, clock, [after.h]);
  expect(r.depth).toBe(1);
  await r.runDue();
  expect(after.calls).toEqual([{ payload: { n: 42 }, attempt: 1 }]);
  expect(second.store.jobCount()).toBe(0);
});

test('durable: a failed job keeps its attempts, backoff and "reported" across a restart', async () => {
  const first = open();
  const clock = new ManualClock(T0);
  const before = handler({ failures: 1 });
  const r1 = runner(first.store, clock, [before.h]);
  r1.enqueue('test.job', { n: 1 });
  await r1.runDue();
  expect(before.reported).toHaveLength(1);
  first.store.close();

  const second = open(first.path);
  const after = handler({ failures: 1 });
  const r2 = runner(second.store, clock, [after.h]);
  await r2.runDue(); // still in its backoff
  expect(after.calls).toEqual([]);
  clock.advance(1_000);
  await r2.runDue(); // attempt 2 fails: not reported again
  expect(after.calls).toEqual([{ payload: { n: 1 }, attempt: 2 }]);
  expect(after.reported).toEqual([]);
  clock.advance(2_000);
  await r2.runDue();
  expect(second.store.jobCount()).toBe(0);
});

test('runDue starts at most `concurrency` jobs, oldest first', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  const { h, calls } = handler();
  const r = runner(store, clock, [h], { concurrency: 2 });
  for (const n of [1, 2, 3]) r.enqueue('test.job', { n });
  await r.runDue();
  expect(calls.map((c) => c.payload.n)).toEqual([1, 2]);
  await r.runDue();
  expect(calls.map((c) => c.payload.n)).toEqual([1, 2, 3]);
});

test('a job that takes longer than its timeout is aborted and retried', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  let signal: AbortSignal | undefined;
  const h: JobHandler<Payload> = { kind: 'test.job', timeoutMs: 20, run: (_p, ctx) => ((signal = ctx.signal), new Promise(() => {})) };
  const r = runner(store, clock, [h]);
  r.enqueue('test.job', { n: 1 });
  await r.runDue();
  expect(signal?.aborted).toBe(true);
  expect(rows(store)).toEqual([expect.objectContaining({ attempts: 1, lastError: 'timed out' })]);
});

test('stopping aborts a running job without counting it: it stays queued as it was (run again after a restart)', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  let started!: () => void;
  const running = new Promise<void>((res) => (started = res));
  const h: JobHandler<Payload> = {
    kind: 'test.job',
    run: () => {
      started();
      return new Promise(() => {});
    },
  };
  const r = runner(store, clock, [h]);
  r.enqueue('test.job', { n: 1 });
  const done = r.runDue();
  await running;
  await r.stop(1_000);
  await done;
  expect(r.stats).toEqual({ done: 0, failed: 0, gaveUp: 0 });
  expect(rows(store)).toEqual([expect.objectContaining({ attempts: 0, runAt: T0 })]);
  await r.runDue(); // a stopped runner takes no more jobs
  expect(store.jobCount()).toBe(1);
});

test('the background loop runs a job queued while it sleeps', async () => {
  const { store } = open();
  const clock = new ManualClock(T0);
  let ran!: () => void;
  const done = new Promise<void>((res) => (ran = res));
  const h: JobHandler<Payload> = { kind: 'test.job', run: async () => ran() };
  const r = runner(store, clock, [h]);
  r.start();
  try {
    r.enqueue('test.job', { n: 1 });
    await done;
  } finally {
    await r.stop(1_000);
  }
  expect(store.jobCount()).toBe(0);
});
