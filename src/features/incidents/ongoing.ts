/** The `!ongoing` answer: every open incident, grouped by class, most urgent first. Pure. */
import type { SlaConfig } from '../../domain/sla';
import { formatDuration } from '../../domain/duration';
import { outside, splitMessage, topicLink } from '../../core/text';
import type { IncidentSummary as Incident } from '../../domain/incident';
import { CLASS_LABEL, CLASS_ORDER } from '../../domain/classes';
import { currentDeadline, deadlineText } from '../../domain/sla';
import { eventRef } from '../../domain/event-ids';

export interface OngoingOptions {
  /** Rows shown per class; the rest are counted. */
  maxRowsPerClass?: number;
  messageLimit?: number;
}

/** Soonest deadline first; incidents without one last, oldest first (deadlines computed once each). */
function byUrgency(list: readonly Incident[], sla: SlaConfig): Incident[] {
  return list
    .map((i) => ({ i, d: currentDeadline(i, sla)?.at ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.d - b.d || a.i.openedAt - b.i.openedAt)
    .map((x) => x.i);
}

function slaCell(i: Incident, sla: SlaConfig, now: number): string {
  const d = currentDeadline(i, sla);
  if (!d) return '—';
  const text = deadlineText(d, now, 'short');
  return d.at >= now ? text : `**${text}**`;
}

function ackCell(i: Incident): string {
  if (i.status !== 'acknowledged') return '**no**';
  return `yes, ${outside(i.acknowledgedBy ?? '?', { table: true, max: 60 })}`;
}

/** Renders the answer as one or more messages, each under Zulip's limit. */
export function renderOngoing(incidents: readonly Incident[], sla: SlaConfig, now: number, opts: OngoingOptions = {}): string[] {
  const open = incidents.filter((i) => i.status !== 'resolved');
  if (open.length === 0) return ['No open incidents. :check: Nothing is firing that the bot knows of.'];
  const maxRows = opts.maxRowsPerClass ?? 50;
  const counts = CLASS_ORDER.map((c) => `${open.filter((i) => i.incidentClass === c).length} ${CLASS_LABEL[c].toLowerCase()}`);
  const unacked = open.filter((i) => i.status === 'open').length;
  const lines: string[] = [`**Ongoing incidents: ${open.length}** (${counts.join(', ')}; ${unacked} unacknowledged)`];
  for (const c of CLASS_ORDER) {
    const group = byUrgency(open.filter((i) => i.incidentClass === c), sla);
    if (group.length === 0) continue;
    lines.push('', `**${CLASS_LABEL[c]}** (${group.length})`, '', '| Host | Trigger | Age | Acknowledged | SLA | Topic | Event |', '|---|---|---|---|---|---|---|');
    for (const i of group.slice(0, maxRows)) {
      lines.push(
        `| ${outside(i.host, { table: true, max: 80 })} | ${outside(i.triggerName, { table: true, max: 120 })} | ${formatDuration(now - i.openedAt)} | ${ackCell(i)} | ${slaCell(i, sla, now)} | ${topicLink(i.stream, i.topic, { table: true })} | ${eventRef(i)} |`,
      );
    }
    if (group.length > maxRows) {
      const rest = group.slice(maxRows);
      const restUnacked = rest.filter((i) => i.status === 'open').length;
      lines.push('', `…and ${rest.length} more ${CLASS_LABEL[c].toLowerCase()} (${restUnacked} unacknowledged), less urgent than those above.`);
    }
  }
  return splitMessage(lines.join('\n'), opts.messageLimit);
}
