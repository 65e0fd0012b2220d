/** The start-up check against catastrophic regular expressions (red-team finding 8). Static: nothing here is timed. */
import { catastrophicPattern } from './regex-safety';
import { CERT_EXPIRING_SOON, DEFAULT_CLIENT_EXCEPTIONS, DEFAULT_RULES, HTTPS_DOWN, NO_BACKUP, SSH_DOWN } from '../domain/runbook';

/** The default before the red-team review: cubic on a long trigger name (1.4 s on 10,000 characters). */
const OLD_CERT_EXPIRING_SOON = String.raw`\bcert(ificate)?s?\b.*\bexpir(es|ing|y)\b.*(<|less than|under|within|in)\s*(24\s*h(ours?)?|1\s*day|one day)\b`;

test('every default pattern passes the check', () => {
  const patterns = [...DEFAULT_RULES, ...DEFAULT_CLIENT_EXCEPTIONS].flatMap((r) => [r.trigger, r.host]).filter((p): p is string => p !== undefined);
  expect(patterns.length).toBeGreaterThanOrEqual(6);
  for (const p of [...patterns, SSH_DOWN, NO_BACKUP, HTTPS_DOWN, CERT_EXPIRING_SOON]) expect([p, catastrophicPattern(p)]).toEqual([p, undefined]);
});

test('the old certificate pattern is refused', () => {
  expect(catastrophicPattern(OLD_CERT_EXPIRING_SOON)).toMatch(/^three unbounded repetitions in a row/);
});

test.each([
  ['(a+)+$', /^nested repetition: `\(a\+\)\+`/],
  ['(a*)*b', /^nested repetition/],
  ['^(\\w+\\s?)*$', /^nested repetition: `\(\\w\+\\s\?\)\*`/],
  ['(.*a){5,}x', /^nested repetition/],
  ['((a+)b?)+$', /^nested repetition/],
  ['(?:[a-z]+|\\d+)*!', /^nested repetition/],
  ['(a|a)*$', /^overlapping alternatives: `\(a\|a\)\*` repeats `a\|a`/],
  ['(\\w|\\d)+$', /^overlapping alternatives/],
  ['(.|\\s)*$', /^overlapping alternatives/],
  ['(a|aa)+$', /^overlapping alternatives/],
  ['(?=(a+)+$)', /^nested repetition/],
  ['a.*b.*c.*d', /^three unbounded repetitions/],
  ['.*disk.*full.*x', /^three unbounded repetitions/],
  ['(a.*)(b.*)(c.*)d', /^three unbounded repetitions/],
])('%j is refused', (pattern, why) => expect(catastrophicPattern(pattern)).toMatch(why));

test.each([
  'replication lag',
  '^edge-\\d+',
  '\\.lab\\.',
  '^git\\.',
  'disk.*full',
  'a.*b.*c',
  '.*disk.*full.*',
  '(\\d+\\.)+\\d+',
  '([a-z0-9-]+\\.)+[a-z]{2,}',
  '(?:\\s+\\w+)*',
  '(?:\\w+\\s)+',
  '^\\s*foo\\s*:\\s*bar',
  '(?:foo|bar|baz)+',
  '(ab|a)*c',
  '(a+){2}',
  '(?<x>a)\\k<x>',
  '[]a|[^]*',
  'x{2,3}y{',
  '\\u0041+\\x42+',
])('%j passes', (pattern) => expect(catastrophicPattern(pattern)).toBeUndefined());

test('a pattern JavaScript cannot parse is left to `new RegExp` to report', () => expect(catastrophicPattern('(a')).toBeUndefined());
