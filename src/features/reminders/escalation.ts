/**
 * Escalation (issue 19): an incident still unacknowledged after `escalation.<class>.after`
 * reminders mentions `escalation.group` (a Zulip user group) and/or `escalation.people` in its
 * topic, with that reminder; an optional second step (`escalation.<class>.then`) after that many
 * more. Each step is said once: it fires with the reminder whose number is the step's (reminders
 * are counted per incident, one more per reminder, so a number is reached once). Earlier
 * reminders say when the next step comes, with silent mentions (a forecast must not notify the
 * group every time). Pure.
 */
import type { EscalationConfig } from '../../config/ownership-schema';
import type { IncidentClass } from '../../domain/classes';
import { formatDuration } from '../../domain/duration';
import { outside } from '../../core/text';

export interface EscalationTarget {
  group?: string;
  people?: readonly string[];
}

export interface EscalationStep {
  /** 1 for the first step, 2 for the `then` step. */
  n: number;
  /** The reminder number that fires it. */
  atReminder: number;
  target: EscalationTarget;
}

/** Turns a person's email into a notifying (or silent) mention; undefined when unknown. */
export type MentionOf = (email: string, silent: boolean) => string | undefined;

function hasTarget(t: EscalationTarget): boolean {
  return (t.group !== undefined && t.group !== '') || (t.people ?? []).length > 0;
}

/** The steps of a class, in order; none when off (no group or people, or `after` 0). */
export function escalationSteps(cfg: EscalationConfig | undefined, cls: IncidentClass): EscalationStep[] {
  if (!cfg) return [];
  const c = cls === 'critical' ? cfg.critical : cls === 'non-critical' ? cfg.nonCritical : cfg.informational;
  const first: EscalationTarget = { ...(cfg.group !== undefined ? { group: cfg.group } : {}), ...(cfg.people !== undefined ? { people: cfg.people } : {}) };
  if (c.after <= 0 || !hasTarget(first)) return [];
  const steps: EscalationStep[] = [{ n: 1, atReminder: c.after, target: first }];
  if (c.then) {
    const then: EscalationTarget =
      c.then.group !== undefined || c.then.people !== undefined ? { ...(c.then.group !== undefined ? { group: c.then.group } : {}), ...(c.then.people !== undefined ? { people: c.then.people } : {}) } : first;
    steps.push({ n: 2, atReminder: c.after + c.then.after, target: then });
  }
  return steps;
}

/** The step the reminder numbered `reminder` fires, if any. */
export function stepFiring(steps: readonly EscalationStep[], reminder: number): EscalationStep | undefined {
  return steps.find((s) => s.atReminder === reminder);
}

/** The next step after the reminder numbered `reminder`, if any. */
export function nextStep(steps: readonly EscalationStep[], reminder: number): EscalationStep | undefined {
  return steps.find((s) => s.atReminder > reminder);
}

/** `@*group*` and the people's mentions (`@_*group*` and silent mentions for a forecast). */
export function renderTarget(t: EscalationTarget, mentionOf: MentionOf | undefined, silent: boolean): string {
  const parts: string[] = [];
  if (t.group) parts.push(`@${silent ? '_' : ''}*${outside(t.group, { max: 100 }).replace(/\*/g, '')}*`);
  for (const email of t.people ?? []) parts.push(mentionOf?.(email, silent) ?? `**${outside(email, { max: 100 })}**`);
  return parts.join(', ');
}

/** One escalating incident, for the reminder text. */
export interface EscalationNow {
  step: EscalationStep;
  /** "**HTTPS is down** (event 7001)" */
  what: string;
  reminders: number;
}

/** The lines a topic's reminder carries: the steps firing now (notifying), else when the next comes (silent). */
export function renderEscalation(
  firing: readonly EscalationNow[],
  upcoming: { step: EscalationStep; remindersLeft: number; every: number } | undefined,
  mentionOf: MentionOf | undefined,
): string[] {
  const lines: string[] = [];
  const byStep = new Map<string, EscalationNow[]>();
  for (const f of firing) {
    const key = `${f.step.n}\u0000${renderTarget(f.step.target, mentionOf, false)}`;
    byStep.set(key, [...(byStep.get(key) ?? []), f]);
  }
  for (const list of byStep.values()) {
    const first = list[0] as EscalationNow;
    const who = renderTarget(first.step.target, mentionOf, false);
    const counts = [...new Set(list.map((f) => f.reminders))];
    const after = counts.length === 1 ? `${counts[0]} reminder${counts[0] === 1 ? '' : 's'}` : 'their reminders';
    lines.push(`📣 **Escalated${first.step.n > 1 ? ` (step ${first.step.n})` : ''}** to ${who}: ${list.map((f) => f.what).join(', ')} still unacknowledged after ${after}. Please help, or acknowledge with \`!ack\`.`);
  }
  if (upcoming) {
    const n = upcoming.remindersLeft;
    lines.push(`Unacknowledged, this escalates to ${renderTarget(upcoming.step.target, mentionOf, true)} after ${n} more reminder${n === 1 ? '' : 's'} (${formatDuration(n * upcoming.every)}).`);
  }
  return lines;
}
