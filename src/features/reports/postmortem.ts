/**
 * The postmortem draft, in the layout of the team's template (shared/seeds/postmortem-template.md),
 * built from the bot's records and the topic's messages. Pure: everything is passed in.
 */
import { dateFormat } from '../../core/time-format';
import { formatDuration } from '../../domain/duration';
import { outside, topicLink } from '../../core/text';
import type { Incident, IncidentLogEntry } from '../../domain/incident';
import { CLASS_LABEL, SEVERITY_RANK } from '../../domain/classes';

export interface TopicPost {
  at: number;
  sender: string;
  content: string;
}

export interface HandoverRecord {
  at: number;
  from?: string;
  to: string;
}

export interface PostmortemInput {
  title: string;
  incidents: readonly Incident[];
  logs: readonly IncidentLogEntry[];
  /** Human messages in the topic (not the bot's, not alert posts). */
  posts: readonly TopicPost[];
  handovers: readonly HandoverRecord[];
  /** Earlier incidents on the same hosts, outside this topic. */
  related: readonly Incident[];
  timeZone: string;
  now: number;
}

function parts(ms: number, tz: string) {
  const p = dateFormat('en-US', { timeZone: tz, year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const get = (t: string) => p.find((x) => x.type === t)?.value ?? '';
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** "March 16, 2025 16:30", as the template writes it. */
export function longTime(ms: number, tz: string): string {
  const p = parts(ms, tz);
  return `${p.month} ${p.day}, ${p.year} ${p.hour}:${p.minute}`;
}

function isoDate(ms: number, tz: string): string {
  return dateFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

function shortTime(ms: number, start: number, tz: string): string {
  const p = parts(ms, tz);
  return isoDate(ms, tz) === isoDate(start, tz) ? `${p.hour}:${p.minute}` : `${isoDate(ms, tz).slice(5)} ${p.hour}:${p.minute}`;
}

function firstLine(text: string, max = 140): string {
  return outside(text.split('\n').find((l) => l.trim() !== '') ?? '', { max });
}

const LOG_TEXT: Partial<Record<IncidentLogEntry['kind'], (l: IncidentLogEntry, name: string) => string>> = {
  opened: (l, n) => `${n} fired (${l.detail?.split(':')[0] ?? 'alert'})${l.actor ? `, reported by ${l.actor}` : ''}`,
  acknowledged: (l, n) => `${n} acknowledged by ${l.actor ?? '?'}${l.detail ? `: "${l.detail}"` : ''}`,
  resolved: (l, n) => `${n} resolved${l.actor ? ` by ${l.actor}` : ''}${l.detail ? ` (${l.detail})` : ''}`,
  reminder: (_l, n) => `bot reminder: ${n} still unacknowledged`,
  warning: (l, n) => `bot SLA warning (${l.detail ?? ''}) for ${n}`,
  breach: (l, n) => `SLA breached (${l.detail ?? ''}) for ${n}`,
  snoozed: (l, n) => `reminders for ${n} snoozed by ${l.actor ?? '?'} ${l.detail ?? ''}`,
  moved: (l, n) => `${n} moved: ${l.detail ?? ''}`,
};

export function renderPostmortem(p: PostmortemInput): string {
  const tz = p.timeZone;
  const start = Math.min(...p.incidents.map((i) => i.openedAt));
  const resolvedAll = p.incidents.every((i) => i.status === 'resolved');
  const end = resolvedAll ? Math.max(...p.incidents.map((i) => i.resolvedAt ?? i.openedAt)) : undefined;
  const worst = [...p.incidents].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0] as Incident;
  const names = new Map(p.incidents.map((i) => [i.eventId, `**${outside(i.triggerName)}**`]));
  const responders = [...new Set([...p.posts.map((x) => x.sender), ...p.incidents.flatMap((i) => (i.acknowledgedBy ? [i.acknowledgedBy] : []))])];
  const services = [...new Set(p.incidents.map((i) => `${outside(i.host, { table: true })}: ${outside(i.triggerName, { table: true })}`))];
  const duration = end !== undefined ? `${longTime(start, tz)} until ${longTime(end, tz)} (${formatDuration(end - start)})` : `${longTime(start, tz)} until — (still open; ${formatDuration(p.now - start)} so far)`;

  const timeline: { at: number; text: string }[] = [
    ...p.logs.flatMap((l) => {
      const f = LOG_TEXT[l.kind];
      return f ? [{ at: l.at, text: outside(f(l, names.get(l.eventId) ?? `event ${l.eventId}`), { max: 2000 }) }] : [];
    }),
    ...p.posts.map((x) => ({ at: x.at, text: `${outside(x.sender, { max: 100 })}: ${firstLine(x.content)}` })),
    ...p.handovers.filter((h) => h.at >= start && (end === undefined || h.at <= end)).map((h) => ({ at: h.at, text: `first responder handover${h.from ? ` from ${outside(h.from, { max: 100 })}` : ''} to ${outside(h.to, { max: 100 })}` })),
  ].sort((a, b) => a.at - b.at);

  const related = p.related.slice(0, 10).map((i) => `  - ${isoDate(i.openedAt, tz)}: ${outside(i.triggerName)} on ${outside(i.host)} (${i.status}) ${topicLink(i.stream, i.topic)}`);

  return [
    `# 🚨 ${isoDate(start, tz)}`,
    '',
    '### 📋 Overview',
    '',
    `| Incident | ${outside(p.title, { table: true })} |`,
    '|----|----|',
    `| Severity | ${CLASS_LABEL[worst.incidentClass]} (${worst.severity}) |`,
    `| Affected services | ${services.join('; ')} |`,
    `| Duration | ${duration} |`,
    `| Responders | ${responders.map((r) => `@_**${outside(r, { table: true, max: 100 })}**`).join(' ') || '—'} |`,
    '',
    '### ⏱️ Incident timeline',
    '',
    ...timeline.map((t) => `* ${shortTime(t.at, start, tz)} ${t.text}`),
    '',
    '### ⛑️ Postmortem report',
    '',
    '* ⚠️ Leadup',
    '',
    '  !!List the sequence of events that led to the incident!!',
    '* 🤷 Fault',
    '',
    '  !!Describe what failed!!',
    '* 🥏 Impact',
    '',
    '  !!Describe how users where impacted during the incident. Include how many support cases were raised.!!',
    '* 👁️ Detection',
    '',
    `  ${p.incidents.some((i) => i.alertCount > 0) ? `System monitoring (Zabbix) detected it: first alert ${longTime(start, tz)}.` : 'Reported by hand (`!incident`).'}`,
    '* 🔎 Root cause',
    '',
    '  !!Run a 5-whys analysis to understand the true causes of the incident. Begin with a description of the impact and ask why it occurred. Continue asking "why" until you arrive at a root cause!!',
    '  1. Why? !!…!!',
    '  2. Why? !!…!!',
    '  3. Why? !!…!!',
    '  4. Why? !!…!!',
    '  5. Why? !!…!!',
    '* 🗃️ Related records',
    '',
    ...(related.length > 0 ? ['  Earlier incidents on the same hosts:', ...related] : ['  No earlier incidents on these hosts in the bot\'s records.']),
    "  !!Check if any past incidents could've had the same root cause. Ask why this incident occured again.!!",
    '* 🤔 Lessons learned',
    '',
    '  !!Describe what you learned, what went well, and how you can improve.!!',
    '',
    '### ✅ Follow-up tasks',
    '',
    'List the issues created to prevent this class of incident in the future.',
    '',
    '| Issue | Owner | Todo | Links |',
    '|----|----|----|----|',
    '|    |    |    |    |',
    '|    |    |    |    |',
  ].join('\n');
}
