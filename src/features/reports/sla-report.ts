/** SLA reports: counts, time to acknowledge and resolve, breaches, what fired most. Pure. */
import { formatDuration } from '../../domain/duration';
import { outside, topicLink } from '../../core/text';
import type { IncidentClass } from '../../domain/classes';
import type { Incident, IncidentLogEntry } from '../../domain/incident';
import { CLASS_LABEL, CLASS_ORDER } from '../../domain/classes';

export interface ClassFigures {
  count: number;
  open: number;
  ackMedian?: number;
  ackP90?: number;
  resolveMedian?: number;
  resolveP90?: number;
}

export interface SlaReport {
  from: number;
  to: number;
  byClass: Record<IncidentClass, ClassFigures>;
  breaches: { incident: Incident; what: string; at: number }[];
  topHosts: { host: string; count: number }[];
  topTriggers: { trigger: string; host: string; count: number }[];
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

function top<T>(items: T[], key: (t: T) => string, n: number): { key: string; count: number; sample: T }[] {
  const counts = new Map<string, { count: number; sample: T }>();
  for (const it of items) {
    const k = key(it);
    const c = counts.get(k) ?? { count: 0, sample: it };
    c.count++;
    counts.set(k, c);
  }
  return [...counts.entries()]
    .map(([k, v]) => ({ key: k, ...v }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
    .slice(0, n);
}

export function buildSlaReport(incidents: readonly Incident[], breachLogs: readonly IncidentLogEntry[], byId: (eventId: string) => Incident | undefined, from: number, to: number): SlaReport {
  const byClass = {} as Record<IncidentClass, ClassFigures>;
  for (const c of CLASS_ORDER) {
    const list = incidents.filter((i) => i.incidentClass === c);
    const ack = list.filter((i) => i.acknowledgedAt !== undefined).map((i) => (i.acknowledgedAt as number) - i.openedAt).sort((a, b) => a - b);
    const res = list.filter((i) => i.resolvedAt !== undefined).map((i) => (i.resolvedAt as number) - i.openedAt).sort((a, b) => a - b);
    const f: ClassFigures = { count: list.length, open: list.filter((i) => i.status !== 'resolved').length };
    const set = (k: keyof ClassFigures, v: number | undefined) => {
      if (v !== undefined) (f as unknown as Record<string, number>)[k] = v;
    };
    set('ackMedian', quantile(ack, 0.5));
    set('ackP90', quantile(ack, 0.9));
    set('resolveMedian', quantile(res, 0.5));
    set('resolveP90', quantile(res, 0.9));
    byClass[c] = f;
  }
  const breaches = breachLogs.flatMap((l) => {
    const incident = byId(l.eventId);
    return incident ? [{ incident, what: l.detail === 'acknowledge-100' ? 'not acknowledged in time' : 'not resolved in time', at: l.at }] : [];
  });
  return {
    from,
    to,
    byClass,
    breaches,
    topHosts: top([...incidents], (i) => i.host, 5).map((t) => ({ host: t.key, count: t.count })),
    topTriggers: top([...incidents], (i) => `${i.host}\u0000${i.triggerName}`, 5).map((t) => ({ trigger: t.sample.triggerName, host: t.sample.host, count: t.count })),
  };
}

const d = (ms: number | undefined) => (ms === undefined ? '—' : formatDuration(ms));

export function renderSlaReport(r: SlaReport, title: string, formatTime: (ms: number) => string): string {
  const total = CLASS_ORDER.reduce((n, c) => n + r.byClass[c].count, 0);
  const lines = [
    `📊 **${title}**: ${formatTime(r.from)} – ${formatTime(r.to)} — ${total} incident${total === 1 ? '' : 's'}, ${r.breaches.length} SLA breach${r.breaches.length === 1 ? '' : 'es'}`,
    '',
    '| Class | Incidents | Still open | Ack median | Ack p90 | Resolve median | Resolve p90 |',
    '|---|---|---|---|---|---|---|',
    ...CLASS_ORDER.map((c) => {
      const f = r.byClass[c];
      return `| ${CLASS_LABEL[c]} | ${f.count} | ${f.open} | ${d(f.ackMedian)} | ${d(f.ackP90)} | ${d(f.resolveMedian)} | ${d(f.resolveP90)} |`;
    }),
  ];
  if (r.breaches.length > 0) {
    lines.push('', '**Breaches**');
    for (const b of r.breaches.slice(0, 30)) lines.push(`- ${CLASS_LABEL[b.incident.incidentClass]}: **${outside(b.incident.triggerName)}** on ${outside(b.incident.host)} — ${b.what} (${formatTime(b.at)}) ${topicLink(b.incident.stream, b.incident.topic)}`);
    if (r.breaches.length > 30) lines.push(`…and ${r.breaches.length - 30} more.`);
  }
  if (r.topHosts.length > 0) {
    lines.push('', '**Fired most**', '', '| Host | Incidents |', '|---|---|', ...r.topHosts.map((h) => `| ${outside(h.host, { table: true, max: 80 })} | ${h.count} |`));
    lines.push('', '| Trigger | Host | Incidents |', '|---|---|---|', ...r.topTriggers.map((t) => `| ${outside(t.trigger, { table: true, max: 120 })} | ${outside(t.host, { table: true, max: 80 })} | ${t.count} |`));
  }
  return lines.join('\n');
}
