import { formatDuration, parseDuration, parseSpokenDuration } from './duration';

const MON_0930_CET = Date.parse('2026-11-23T08:30:00Z');

test('config durations stay strict', () => {
  expect(parseDuration('30m')).toBe(1_800_000);
  expect(parseDuration('30 minutes')).toBeUndefined();
  expect(parseDuration('2h30m')).toBeUndefined();
});

test.each([
  ['30m', 30 * 60_000],
  ['30 minutes', 30 * 60_000],
  ['2h30m', 150 * 60_000],
  ['1h 30m', 90 * 60_000],
  ['2 hours and 30 minutes', 150 * 60_000],
  ['1 day', 86_400_000],
  ['90 min', 90 * 60_000],
  ['1 week', 7 * 86_400_000],
])('people write durations: %s', (text, ms) => {
  expect(parseSpokenDuration(text, MON_0930_CET, 'Europe/Amsterdam')).toBe(ms);
});

test.each(['forever', '', 'soon', '30 parsecs', '0m', '2h then 3m', 'until 25:00'])('not a duration: %j', (text) => {
  expect(parseSpokenDuration(text, MON_0930_CET, 'Europe/Amsterdam')).toBeUndefined();
});

test('until 14:00 is the next 14:00 in the team time zone', () => {
  expect(parseSpokenDuration('until 14:00', MON_0930_CET, 'Europe/Amsterdam')).toBe(4.5 * 3_600_000);
  // 09:30 in Amsterdam is 03:30 in New York: 14:00 there is 10.5 h away.
  expect(parseSpokenDuration('until 14:00', MON_0930_CET, 'America/New_York')).toBe(10.5 * 3_600_000);
  // Already past today: tomorrow.
  expect(parseSpokenDuration('until 09:00', MON_0930_CET, 'Europe/Amsterdam')).toBe(23.5 * 3_600_000);
  expect(formatDuration(parseSpokenDuration('until 14:00', MON_0930_CET, 'Europe/Amsterdam') as number)).toBe('4h 30m');
});
