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

/** Weekday names as configured (`firstResponder.workingDays`), Sunday first as Date#getUTCDay counts. */
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export const DEFAULT_WORKING_DAYS: readonly string[] = ['mon', 'tue', 'wed', 'thu', 'fri'];

/**
 * Until when someone who starts handling at `now` handles (the process: "… unless working day
 * ends"): the end of the current working day. On a working day that is today's end of working
 * hours, also when started before the day began; started after the day ended, or on a day that
 * is no working day (a Friday evening, a Saturday), it is the end of the next working day — the
 * evening's handler keeps the area through that day, then the first responder has it again.
 */
export function handlingUntil(now: number, timeZone: string, _start: string, end: string, workingDays: readonly string[] = DEFAULT_WORKING_DAYS): number {
  // The day's start (`_start`) does not bound handling: started before it, handling lasts until that day's end.
  const w = wallClock(now, timeZone);
  const minutes = w.hour * 60 + w.minute;
  const e = parseClock(end) ?? 17 * 60;
  const days = new Set(workingDays.map((d) => d.toLowerCase()));
  const date = (dayOffset: number) => new Date(Date.UTC(w.year, w.month - 1, w.day + dayOffset));
  const working = (dayOffset: number) => days.size === 0 || days.has(DAY_NAMES[date(dayOffset).getUTCDay()] as string);
  const at = (dayOffset: number, mins: number) => {
    const d = date(dayOffset);
    return zonedInstant({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: Math.floor(mins / 60), minute: mins % 60 }, timeZone);
  };
  if (working(0) && minutes < e) return at(0, e);
  for (let d = 1; d <= 7; d++) if (working(d)) return at(d, e);
  return at(1, e);
}
