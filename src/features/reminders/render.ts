/** What reminders and deadline warnings say. Pure. */
import { formatDuration } from '../../domain/duration';
import type { SlaConfig } from '../../domain/sla';
import { outside } from '../../core/text';
import type { Incident } from '../../domain/incident';
import { CLASS_LABEL } from '../../domain/classes';
import { currentDeadline, deadlineText } from '../../domain/sla';
import { formatTime } from '../../domain/time';
import { eventRef } from '../../domain/event-ids';
import type { FiredReminder, WarningDue } from '../../domain/timers';

/** Who a reminder is addressed to. */
export interface Addressee {
  /** A full mention, e.g. `@**Ann Smith**`. */
  mention: string;
  /** Why this person: "first responder", "handling this". */
  role: string;
}


function name(i: Incident): string {
  return `**${outside(i.triggerName)}**`;
}


export function renderWarning(w: WarningDue, i: Incident, now: number, timeZone: string): string {
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
  timeZone: string,
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
      lines.push(`- ${i.severity}: ${name(i)} — unacknowledged for ${formatDuration(r.unacknowledgedFor)}, ${deadlineText(currentDeadline(i, sla), now, 'long')} (event ${eventRef(i)})`);
    }
    lines.push('Acknowledge with `!ack [note]` (all in this topic) or `!ack <event id> [note]`.');
  } else if (to) {
    lines.push(`${who}`);
  }
  return lines.join('\n');
}
