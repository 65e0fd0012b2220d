/** Several hosts at once: storm windows, pure, time passed in. */
import { stormLookback, stormStep, type CriticalOpen, type StormConfig, type StormState } from './storm';

const S = 1_000;
const MIN = 60_000;
const T = Date.UTC(2026, 10, 21, 3, 0, 0);
const cfg: StormConfig = { hosts: 3, within: 5 * MIN, followUpEvery: MIN };
const open = (host: string, at: number): CriticalOpen => ({ host, at });

/** Feeds opens one by one (as alerts arrive), then optional ticks; collects the posts. */
function run(events: ({ open: CriticalOpen } | { tick: number })[], c = cfg) {
  let state: StormState | undefined;
  const seen: CriticalOpen[] = [];
  const posts: { at: number; kind: string; hosts: string[] }[] = [];
  for (const e of events) {
    const now = 'open' in e ? e.open.at : e.tick;
    if ('open' in e) seen.push(e.open);
    const since = stormLookback(state, now, c);
    const step = stormStep(state, seen.filter((o) => o.at >= since), now, c);
    if (step.post) posts.push({ at: now, kind: step.post.kind, hosts: step.post.hosts });
    state = step.state;
  }
  return { posts, state };
}

test('three hosts is no storm; the fourth within the window is, naming all four', () => {
  const { posts } = run([{ open: open('a', T) }, { open: open('b', T + 30 * S) }, { open: open('c', T + MIN) }]);
  expect(posts).toEqual([]);
  const r = run([{ open: open('a', T) }, { open: open('b', T + 30 * S) }, { open: open('c', T + MIN) }, { open: open('d', T + 4 * MIN) }]);
  expect(r.posts).toEqual([{ at: T + 4 * MIN, kind: 'announce', hosts: ['a', 'b', 'c', 'd'] }]);
  expect(r.state).toMatchObject({ startedAt: T, lastOpenAt: T + 4 * MIN, announced: ['a', 'b', 'c', 'd'] });
});

test('hosts further apart than the window are no storm', () => {
  const { posts } = run([{ open: open('a', T) }, { open: open('b', T + 2 * MIN) }, { open: open('c', T + 4 * MIN) }, { open: open('d', T + 5 * MIN + S) }]);
  expect(posts).toEqual([]);
});

test('several triggers on one host count once', () => {
  const { posts } = run([{ open: open('a', T) }, { open: open('a', T + S) }, { open: open('a', T + 2 * S) }, { open: open('b', T + 3 * S) }, { open: open('c', T + 4 * S) }]);
  expect(posts).toEqual([]);
});

test('announced once per storm; later hosts follow at most once per minute, batched', () => {
  const { posts } = run([
    ...['a', 'b', 'c', 'd'].map((h, i) => ({ open: open(h, T + i * S) })),
    { open: open('e', T + 10 * S) }, // too soon after the announcement: waits
    { open: open('a', T + 20 * S) }, // an announced host again: nothing
    { open: open('f', T + 30 * S) }, // still too soon
    { tick: T + 59 * S },
    { tick: T + 63 * S }, // a minute after the announcement: e and f together
    { open: open('g', T + 70 * S) },
    { tick: T + 100 * S },
    { tick: T + 123 * S },
  ]);
  expect(posts).toEqual([
    { at: T + 3 * S, kind: 'announce', hosts: ['a', 'b', 'c', 'd'] },
    { at: T + 63 * S, kind: 'follow-up', hosts: ['e', 'f'] },
    { at: T + 123 * S, kind: 'follow-up', hosts: ['g'] },
  ]);
});

test('a storm lasts while problems keep opening; after a quiet window a new storm is announced again', () => {
  const first = ['a', 'b', 'c', 'd'].map((h, i) => ({ open: open(h, T + i * S) }));
  // A host every 4 minutes keeps it going (each within 5 minutes of the previous).
  const trickle = [{ open: open('e', T + 4 * MIN) }, { open: open('f', T + 8 * MIN) }];
  const quiet = { tick: T + 8 * MIN + 5 * MIN + S };
  const second = ['p', 'q', 'r', 's'].map((h, i) => ({ open: open(h, T + 20 * MIN + i * S) }));
  const { posts, state } = run([...first, ...trickle, quiet, ...second]);
  expect(posts.map((p) => [p.kind, p.hosts])).toEqual([
    ['announce', ['a', 'b', 'c', 'd']],
    ['follow-up', ['e']],
    ['follow-up', ['f']],
    ['announce', ['p', 'q', 'r', 's']],
  ]);
  expect(state?.announced).toEqual(['p', 'q', 'r', 's']);
});

test('the storm ends exactly after a window without opens', () => {
  const base = ['a', 'b', 'c', 'd'].map((h, i) => ({ open: open(h, T + i * S) }));
  expect(run([...base, { tick: T + 3 * S + 5 * MIN }]).state).toBeDefined();
  expect(run([...base, { tick: T + 3 * S + 5 * MIN + 1 }]).state).toBeUndefined();
});

test('an old storm host coming back after the storm ended starts counting anew', () => {
  const { posts } = run([
    ...['a', 'b', 'c', 'd'].map((h, i) => ({ open: open(h, T + i * S) })),
    ...['a', 'b', 'c'].map((h, i) => ({ open: open(h, T + 15 * MIN + i * S) })),
  ]);
  expect(posts.map((p) => p.kind)).toEqual(['announce']);
});

test('threshold and window are configurable; no follow-ups when they would be too frequent', () => {
  const c: StormConfig = { hosts: 1, within: 30 * S, followUpEvery: 10 * MIN };
  const { posts } = run([{ open: open('a', T) }, { open: open('b', T + 29 * S) }, { open: open('c', T + 40 * S) }, { tick: T + 50 * S }], c);
  expect(posts).toEqual([{ at: T + 29 * S, kind: 'announce', hosts: ['a', 'b'] }]);
});

test('an alert timestamp slightly ahead of our clock still counts', () => {
  const s = stormStep(undefined, ['a', 'b', 'c', 'd'].map((h) => open(h, T + 2 * S)), T, cfg);
  expect(s.post).toEqual({ kind: 'announce', hosts: ['a', 'b', 'c', 'd'] });
});

test('lookback: the window without a storm, the whole storm with one', () => {
  expect(stormLookback(undefined, T, cfg)).toBe(T - 5 * MIN);
  expect(stormLookback({ startedAt: T - 20 * MIN, lastOpenAt: T - MIN, lastPostAt: T - MIN, announced: [] }, T, cfg)).toBe(T - 20 * MIN);
});
