/** SLA arithmetic and its one wording: pure functions of (incident, SLA config, now). */
import { formatDuration } from './duration';
import type { IncidentClass } from './classes';
import type { Incident } from './incident';

/** The SLA per class, in milliseconds (config `sla`). */
export interface SlaConfig {
  critical: { remindEvery: number; resolveWithin: number };
  nonCritical: { remindEvery: number; ackWithin: number; resolveWithin: number };
  informational: { remindEvery: number; ackWithin: number };
}

export interface ClassSla {
  remindEvery: number;
  /** Time allowed to acknowledge, if the class has such a deadline. */
  ackWithin?: number;
  /** Time allowed to resolve, if the class has such a deadline. */
  resolveWithin?: number;
}

export function slaFor(sla: SlaConfig, c: IncidentClass): ClassSla {
  switch (c) {
    case 'critical':
      return { remindEvery: sla.critical.remindEvery, resolveWithin: sla.critical.resolveWithin };
    case 'non-critical':
      return { remindEvery: sla.nonCritical.remindEvery, ackWithin: sla.nonCritical.ackWithin, resolveWithin: sla.nonCritical.resolveWithin };
    case 'informational':
      return { remindEvery: sla.informational.remindEvery, ackWithin: sla.informational.ackWithin };
  }
}

export type DeadlineKind = 'acknowledge' | 'resolve';

export interface Deadline {
  kind: DeadlineKind;
  /** Milliseconds since the epoch. */
  at: number;
}

/** The deadline the incident is working against now: acknowledge first (if the class has one), then resolve. */
export function currentDeadline(i: Pick<Incident, 'status' | 'incidentClass' | 'openedAt'>, sla: SlaConfig): Deadline | undefined {
  if (i.status === 'resolved') return undefined;
  const c = slaFor(sla, i.incidentClass);
  if (i.status === 'open' && c.ackWithin !== undefined) return { kind: 'acknowledge', at: i.openedAt + c.ackWithin };
  if (c.resolveWithin !== undefined) return { kind: 'resolve', at: i.openedAt + c.resolveWithin };
  return undefined;
}

/** Milliseconds left before the current deadline (negative when overdue); undefined when none. */
export function timeLeft(i: Pick<Incident, 'status' | 'incidentClass' | 'openedAt'>, sla: SlaConfig, now: number): number | undefined {
  const d = currentDeadline(i, sla);
  return d === undefined ? undefined : d.at - now;
}

/**
 * The time left before a deadline, as every message says it. `short` (tables, lists):
 * "15h 59m to resolve", "ack overdue 2h 00m"; `long` (reminders): "15h 59m left to resolve",
 * "acknowledge deadline passed 2h 00m ago".
 */
export function deadlineText(d: Deadline | undefined, now: number, form: 'short' | 'long'): string {
  if (!d) return form === 'short' ? 'no deadline' : 'no SLA deadline';
  const left = d.at - now;
  if (form === 'short') {
    const what = d.kind === 'acknowledge' ? 'ack' : 'resolve';
    return left >= 0 ? `${formatDuration(left)} to ${what}` : `${what} overdue ${formatDuration(-left)}`;
  }
  return left >= 0 ? `${formatDuration(left)} left to ${d.kind}` : `${d.kind} deadline passed ${formatDuration(-left)} ago`;
}
