/** What reminders and deadline warnings say. Pure. */
import { dateFormat } from '../../core/time-format';
import { formatDuration } from '../../domain/duration';
import type { SlaConfig } from '../../config/schema';
import { neutralizeMentions } from '../../core/text';
import type { Incident } from '../../domain/incident';
import { CLASS_LABEL } from '../../domain/incident';
import { currentDeadline } from '../../domain/sla';
import type { FiredReminder, WarningDue } from '../../domain/timers';

/** Who a reminder is addressed to. */
export interface Addressee {
  /** A full mention, e.g. `@**Ann Smith**`. */
  mention: string;
  /** Why this person: "first responder", "handling this". */
  role: string;
}

/** "2026-11-21 14:05 CET": a time as the team reads it, in their time zone. */
export function formatTime(ms: number, timeZone = 'UTC'): string {
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
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
}

function name(i: Incident): string {
  return `**${neutralizeMentions(i.triggerName)}**`;
}

function slaLeft(i: Incident, sla: SlaConfig, now: number): string {
  const d = currentDeadline(i, sla);
  if (!d) return 'no SLA deadline';
  const what = d.kind === 'acknowledge' ? 'acknowledge' : 'resolve';
  const left = d.at - now;
  return left >= 0 ? `${formatDuration(left)} left to ${what}` : `${what} deadline passed ${formatDuration(-left)} ago`;
}

export function renderWarning(w: WarningDue, i: Incident, now: number, timeZone = 'UTC'): string {
  const cls = CLASS_LABEL[i.incidentClass].toLowerCase();
  const verb = w.deadline === 'acknowledge' ? 'acknowledged' : 'resolved';
  const within = formatDuration(w.deadlineAt - i.openedAt);
  if (w.level === 100) {
    return `🚨 **SLA breached**: ${name(i)} (${cls}, event ${i.eventId}) was not ${verb} within ${within} (deadline ${formatTime(w.deadlineAt, timeZone)}).`;
  }
  return `⚠️ **SLA warning**: 75% of the time to get ${name(i)} (${cls}, event ${i.eventId}) ${verb} has passed: ${formatDuration(Math.max(0, w.deadlineAt - now))} left (deadline ${formatTime(w.deadlineAt, timeZone)}).`;
}

/** One message for one topic and one scheduler round: every reminder and warning due there. */
export function renderTopicRound(
  reminders: readonly FiredReminder[],
  warnings: readonly { warning: WarningDue; incident: Incident }[],
  sla: SlaConfig,
  now: number,
  to: Addressee | undefined,
  timeZone = 'UTC',
): string {
  const lines: string[] = [];
  const who = to ? `${to.mention} (${to.role})` : 'no first responder is set (`!fr @**Name**`)';
  if (warnings.length > 0) {
    lines.push(...warnings.map((w) => renderWarning(w.warning, w.incident, now, timeZone)));
  }
  if (reminders.length > 0) {
    if (lines.length > 0) lines.push('');
    const n = reminders.length;
    lines.push(`⏰ **Reminder**: ${n === 1 ? 'an incident' : `${n} incidents`} in this topic ${n === 1 ? 'is' : 'are'} still unacknowledged — ${who}:`);
    for (const r of reminders) {
      const i = r.incident;
      lines.push(`- ${i.severity}: ${name(i)} — unacknowledged for ${formatDuration(r.unacknowledgedFor)}, ${slaLeft(i, sla, now)} (event ${i.eventId})`);
    }
    lines.push('Acknowledge with `!ack [note]` (all in this topic) or `!ack <event id> [note]`.');
  } else if (to) {
    lines.push(`${who}`);
  }
  return lines.join('\n');
}
