/** Several hosts at once: when a storm starts, who joins it, when it is over. Pure, times passed in. */
import { fold, inStorm, joinStorm, startStorm, StormDetector, stormKey, stormOver, summaryDue, type CriticalOpen, type StormConfig } from './storm';

const S = 1_000;
const MIN = 60_000;
const T = Date.UTC(2026, 10, 21, 3, 0, 0);
const cfg: StormConfig = { hosts: 3, within: 5 * MIN, followUpEvery: 15 * S, quiet: 10 * MIN };
const open = (host: string, at: number): CriticalOpen => ({ host, at });

/** Feeds opens to a detector; the storm's opens when one starts, with the index of the open that started it. */
function detect(opens: CriticalOpen[], c = cfg): { at: number; hosts: string[] } | undefined {
  const d = new StormDetector(c);
  for (const [i, o] of opens.entries()) {
    const storm = d.add(o);
    if (storm) return { at: i, hosts: storm.map((x) => x.host) };
  }
  return undefined;
}

test('three hosts is no storm; the fourth within the window is, naming all four in order', () => {
  expect(detect([open('a', T), open('b', T + 30 * S), open('c', T + MIN)])).toBeUndefined();
  expect(detect([open('a', T), open('b', T + 30 * S), open('c', T + MIN), open('d', T + 4 * MIN)])).toEqual({ at: 3, hosts: ['a', 'b', 'c', 'd'] });
});

test('hosts further apart than the window are no storm; several triggers on one host count once', () => {
  expect(detect([open('a', T), open('b', T + 2 * MIN), open('c', T + 4 * MIN), open('d', T + 5 * MIN + S)])).toBeUndefined();
  expect(detect([open('a', T), open('a', T + S), open('a', T + 2 * S), open('b', T + 3 * S), open('c', T + 4 * S)])).toBeUndefined();
  expect(detect([open('web', T), open('WEB', T + S), open('b', T + 2 * S), open('c', T + 3 * S)])).toBeUndefined();
});

test('the window is the alerts\' own time: a storm read back after downtime, and alerts out of order', () => {
  const hourAgo = T - 60 * MIN;
  expect(detect(['a', 'b', 'c', 'd'].map((h, i) => open(h, hourAgo + i * S)))?.hosts).toEqual(['a', 'b', 'c', 'd']);
  expect(detect([open('d', T + 3 * S), open('a', T), open('c', T + 2 * S), open('b', T + S)])?.hosts).toEqual(['a', 'b', 'c', 'd']);
});

test('threshold and window are configurable', () => {
  const c = { ...cfg, hosts: 1, within: 30 * S };
  expect(detect([open('a', T), open('b', T + 29 * S)], c)).toEqual({ at: 1, hosts: ['a', 'b'] });
  expect(detect([open('a', T), open('b', T + 31 * S)], c)).toBeUndefined();
});

test('a storm: one card key per storm; hosts join once; it lasts while critical problems keep opening, over after the quiet period', () => {
  const storm = startStorm(['a', 'b', 'c', 'd'].map((h, i) => open(h, T + i * S)));
  expect(storm).toMatchObject({ startedAt: T, lastOpenAt: T + 3 * S, lastPostAt: 0, announced: ['a', 'b', 'c', 'd'] });
  expect(stormKey(storm)).toBe(`storm:${T}`);
  expect(joinStorm(storm, open('e', T + 8 * MIN))).toBe(true);
  expect(joinStorm(storm, open('A', T + 8 * MIN))).toBe(false); // already in it, no later
  expect(joinStorm(storm, open('a', T + 9 * MIN))).toBe(true); // in it; the storm goes on
  expect(storm.announced).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(inStorm(storm, 'E')).toBe(true);
  expect(stormOver(storm, T + 19 * MIN, cfg)).toBe(false);
  expect(stormOver(storm, T + 19 * MIN + 1, cfg)).toBe(true);
  // Unrelated alerts do not start it again: a new storm needs the threshold again (and has a new key).
  const next = startStorm(['p', 'q', 'r', 's'].map((h, i) => open(h, T + 30 * MIN + i * S)));
  expect(stormKey(next)).not.toBe(stormKey(storm));
  // A state saved before summaries were cards has no key: it is derived.
  expect(stormKey({ startedAt: T })).toBe(`storm:${T}`);
});

test('the summary: at once when new, then at most every followUpEvery', () => {
  const storm = startStorm(['a', 'b', 'c', 'd'].map((h) => open(h, T)));
  expect(summaryDue(storm, T, cfg)).toBe(true);
  storm.lastPostAt = T + S;
  expect(summaryDue(storm, T + 10 * S, cfg)).toBe(false);
  expect(summaryDue(storm, T + 16 * S, cfg)).toBe(true);
});

test('what a host did not get is recorded once per kind and topic', () => {
  const storm = startStorm(['web-1', 'b', 'c', 'd'].map((h) => open(h, T)));
  fold(storm, 'WEB-1', { hints: ['SSH service down'], clients: true });
  fold(storm, 'web-1', { hints: ['SSH service down', 'No backup'] });
  fold(storm, 'web-1', { checklists: ['SRE ## Non-critical\u0000web-1'] });
  fold(storm, 'web-1', { checklists: ['SRE ## Non-critical\u0000web-1'] });
  expect(storm.folded).toEqual({ 'web-1': { hints: ['SSH service down', 'No backup'], clients: true, checklists: ['SRE ## Non-critical\u0000web-1'] } });
});
