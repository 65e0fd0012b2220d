import { cronProblem } from './cron';

test.each(['0 9 * * 1', '*/5 * * * *', '0 0 9 * * mon', '30 8 1 jan *'])('%j is valid', (e) => expect(cronProblem(e)).toBeUndefined());

test.each([
  ['61 9 * * 1', '"61" is not a valid minute (0-59)'],
  ['0 25 * * *', '"25" is not a valid hour (0-23)'],
  ['0 9 32 * *', '"32" is not a valid day of the month (1-31)'],
  ['0 9 * * 8', '"8" is not a valid weekday (0-7 or sun-sat)'],
  ['0 9 * *', 'got 4 fields in "0 9 * *"'],
  ['weekly', 'got 1 field in "weekly"'],
])('%j: %s', (e, why) => expect(cronProblem(e)).toBe(`expected a cron expression like "0 9 * * 1" (minute hour day-of-month month weekday, optionally seconds first); ${why}`));
