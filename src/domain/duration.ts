/** Durations as the contract writes them: a whole number and a unit (s, m, h, d, w). */

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
