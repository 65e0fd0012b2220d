/** Time as the team reads it: always in the team's time zone (config `timezone`); there is no default zone. */
import { dateFormat } from '../core/time-format';

/** "2026-11-21 14:05 CET": a time as the team reads it, in their time zone. */
export function formatTime(ms: number, timeZone: string): string {
  const parts = dateFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${zoneName(ms, timeZone, get('timeZoneName'))}`;
}

/** British English names Europe's zones (CET, BST); America's it calls "GMT-5": those get US English's (EST). */
function zoneName(ms: number, timeZone: string, british: string): string {
  if (!/^GMT[+-]/.test(british)) return british;
  const us = dateFormat('en-US', { timeZone, timeZoneName: 'short' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value;
  return us && !/^GMT[+-]/.test(us) ? us : british;
}
