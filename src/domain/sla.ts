/** SLA arithmetic: pure functions of (incident, SLA config, now). */
import type { SlaConfig } from '../config/schema';
import type { IncidentClass } from './alert';
import type { Incident } from './incident';

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
