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
import { slaFor } from '../../domain/sla';
import { nextStep, renderEscalation, stepFiring, type EscalationNow, type EscalationStep, type MentionOf } from './escalation';

/** Who a reminder is addressed to. */
export interface Addressee {
  /** A full mention, e.g. `@**Ann Smith**`. */
  mention: string;
  /** Why this person: "first responder", "handling this", "handling area web", "acknowledged it". */
  role: string;
}


function name(i: Incident): string {
  return `**${outside(i.triggerName)}**`;
}


export function renderWarning(w: WarningDue, i: Incident, now: number, timeZone: string): string {
  const cls = CLASS_LABEL[i.incidentClass].toLowerCase();
  const verb = w.deadline === 'acknowledge' ? 'acknowledged' : 'resolved';
  const within = formatDuration(w.deadlineAt - i.openedAt);
  if (w.level === 100 && w.deadlineAt - now >= 1_000) {
    // Coalesced with the topic's round a little ahead of the deadline (see coalesceWindow).
    return `🚨 **SLA breach in ${formatDuration(w.deadlineAt - now)}**: ${name(i)} (${cls}, event ${i.eventId}) is not ${verb} and its ${within} deadline is ${formatTime(w.deadlineAt, timeZone)}.`;
  }
  if (w.level === 100) {
    return `🚨 **SLA breached**: ${name(i)} (${cls}, event ${i.eventId}) was not ${verb} within ${within} (deadline ${formatTime(w.deadlineAt, timeZone)}).`;
  }
  return `⚠️ **SLA warning**: 75% of the time to get ${name(i)} (${cls}, event ${i.eventId}) ${verb} has passed: ${formatDuration(Math.max(0, w.deadlineAt - now))} left (deadline ${formatTime(w.deadlineAt, timeZone)}).`;
}

/** What a topic's round says about escalation (./escalation.ts); absent: nothing. */
export interface RoundEscalation {
  stepsOf: (i: Incident) => readonly EscalationStep[];
  mentionOf?: MentionOf;
}

function unique(list: readonly (Addressee | undefined)[]): Addressee[] {
  const seen = new Map<string, Addressee>();
  for (const a of list) if (a && !seen.has(a.mention)) seen.set(a.mention, a);
  return [...seen.values()];
}

function whoText(list: readonly Addressee[]): string {
  return list.map((a) => `${a.mention} (${a.role})`).join(', ');
}

/**
 * One message for one topic and one scheduler round: every reminder and warning due there,
 * addressed to whom each incident belongs (`to`: one addressee for all, or one per incident —
 * the acknowledger of an acknowledged one, else its handler, else the first responder), and the
 * escalation steps the reminders reach or announce.
 */
export function renderTopicRound(
  reminders: readonly FiredReminder[],
  warnings: readonly { warning: WarningDue; incident: Incident }[],
  sla: SlaConfig,
  now: number,
  to: Addressee | undefined | ((i: Incident) => Addressee | undefined),
  timeZone: string,
  escalation?: RoundEscalation,
): string {
  const addresseeOf = typeof to === 'function' ? to : () => to;
  const lines: string[] = [];
  const remindedTo = unique(reminders.map((r) => addresseeOf(r.incident)));
  if (warnings.length > 0) {
    lines.push(...warnings.map((w) => renderWarning(w.warning, w.incident, now, timeZone)));
    const told = new Set(reminders.length > 0 ? remindedTo.map((a) => a.mention) : []);
    const warned = unique(warnings.map((w) => addresseeOf(w.incident))).filter((a) => !told.has(a.mention));
    if (warned.length > 0) lines.push(whoText(warned));
  }
  if (reminders.length > 0) {
    if (lines.length > 0) lines.push('');
    const n = reminders.length;
    const who = remindedTo.length > 0 ? whoText(remindedTo) : 'no first responder is set (`!fr @**Name**`)';
    lines.push(`⏰ **Reminder**: ${n === 1 ? 'an incident' : `${n} incidents`} in this topic ${n === 1 ? 'is' : 'are'} still unacknowledged — ${who}:`);
    for (const r of reminders) {
      const i = r.incident;
      lines.push(`- ${i.severity}: ${name(i)} — unacknowledged for ${formatDuration(r.unacknowledgedFor)}, ${deadlineText(currentDeadline(i, sla), now, 'long')} (event ${eventRef(i)})`);
    }
    lines.push('Acknowledge with `!ack [note]` (all in this topic) or `!ack <event id> [note]`.');
    if (escalation) lines.push(...escalationLines(reminders, sla, escalation));
  }
  return lines.join('\n');
}

function escalationLines(reminders: readonly FiredReminder[], sla: SlaConfig, e: RoundEscalation): string[] {
  const firing: EscalationNow[] = [];
  let upcoming: { step: EscalationStep; remindersLeft: number; every: number } | undefined;
  for (const r of reminders) {
    const i = r.incident;
    const sent = i.timers?.remindersSent ?? 0;
    const steps = e.stepsOf(i);
    const step = stepFiring(steps, sent);
    if (step) firing.push({ step, what: `${name(i)} (event ${i.eventId})`, reminders: sent });
    const next = nextStep(steps, sent);
    if (next && (!upcoming || next.atReminder - sent < upcoming.remindersLeft)) upcoming = { step: next, remindersLeft: next.atReminder - sent, every: slaFor(sla, i.incidentClass).remindEvery };
  }
  return renderEscalation(firing, upcoming, e.mentionOf);
}
