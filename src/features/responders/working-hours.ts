/** Working hours in a time zone. Pure. */
import { dateFormat } from '../../core/time-format';

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function wallClock(at: number, timeZone: string): Wall {
  const parts = dateFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(new Date(at));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** The instant at which the wall clock in `timeZone` shows the given date and time. */
export function zonedInstant(w: Wall, timeZone: string): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  let guess = asUtc;
  for (let i = 0; i < 2; i++) {
    const shown = wallClock(guess, timeZone);
    const shownUtc = Date.UTC(shown.year, shown.month - 1, shown.day, shown.hour, shown.minute);
    guess += asUtc - shownUtc;
  }
  return guess;
}

/** "09:00" → minutes after midnight; undefined when not HH:MM. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/**
 * Until when someone who starts handling an incident at `now` handles it: the end of their
 * working day; outside working hours, until the next working day starts (then the FR takes over).
 */
export function handlingUntil(now: number, timeZone: string, start: string, end: string): number {
  const w = wallClock(now, timeZone);
  const minutes = w.hour * 60 + w.minute;
  const s = parseClock(start) ?? 9 * 60;
  const e = parseClock(end) ?? 17 * 60;
  const at = (dayOffset: number, mins: number) => {
    const d = new Date(Date.UTC(w.year, w.month - 1, w.day + dayOffset));
    return zonedInstant({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: Math.floor(mins / 60), minute: mins % 60 }, timeZone);
  };
  if (minutes >= s && minutes < e) return at(0, e);
  return minutes < s ? at(0, s) : at(1, s);
}
