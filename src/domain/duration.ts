/** Durations as the contract writes them: a whole number and a unit (s, m, h, d, w). */
import { dateFormat } from '../core/time-format';

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^(\d{1,9})([smhdw])$/;

/** Milliseconds for "30s", "8h", "7d"...; undefined when the text is not such a duration or is zero. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = UNIT_MS[m[2] as string] as number;
  return n > 0 ? n * unit : undefined;
}

/** A short human form: "45s", "12m", "3h 05m", "2d 4h", "1w 2d". Negative values get a leading minus. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  if (d < 7) return `${d}d ${h % 24}h`;
  return `${Math.floor(d / 7)}w ${d % 7}d`;
}

const SPOKEN_UNIT: Record<string, string> = {
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  d: 'd', day: 'd', days: 'd',
  w: 'w', wk: 'w', week: 'w', weeks: 'w',
};

/**
 * A duration as people type it in chat: `30m`, `2h30m`, `1h 30m`, `30 minutes`, `1 day`, or
 * `until 14:00` (the next 14:00 in the team's time zone). Milliseconds from `now`; undefined when
 * it is not one. (Config durations stay strict: parseDuration.)
 */
export function parseSpokenDuration(text: string, now: number, timeZone: string): number | undefined {
  const t = text.trim().toLowerCase();
  const until = /^(?:until|till|to)\s+([01]?\d|2[0-3])[:.h]([0-5]\d)$/.exec(t);
  if (until) {
    const [h, m] = localHourMinute(now, timeZone);
    let minutes = Number(until[1]) * 60 + Number(until[2]) - (h * 60 + m);
    if (minutes <= 0) minutes += 24 * 60;
    return minutes * 60_000 - (now % 60_000);
  }
  const parts = [...t.matchAll(/(\d{1,6})\s*([a-z]+)\s*(?:and\s+|,\s*)?/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('').trim() !== t.replace(/\s+$/, '')) return undefined;
  let total = 0;
  for (const p of parts) {
    const unit = SPOKEN_UNIT[p[2] as string];
    if (!unit) return undefined;
    total += Number(p[1]) * (UNIT_MS[unit] as number);
  }
  return total > 0 ? total : undefined;
}

function localHourMinute(now: number, timeZone: string): [number, number] {
  const parts = dateFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(now));
  const get = (k: string) => Number(parts.find((p) => p.type === k)?.value ?? 0);
  return [get('hour'), get('minute')];
}
