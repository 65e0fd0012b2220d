/**
 * SLA timers as data: when an incident's next reminder and deadline warnings fall due, and
 * what to do when they have. Pure functions of (incident, SLA config, now).
 */
import type { Incident, IncidentTimers, WarningId } from './incident';
import { slaFor, type DeadlineKind, type SlaConfig } from './sla';

/** Share of a deadline after which the first warning is posted. */
export const WARN_AT = 0.75;

export interface WarningDue {
  id: WarningId;
  deadline: DeadlineKind;
  /** 75 (early warning) or 100 (breach). */
  level: 75 | 100;
  /** When the warning falls due. */
  at: number;
  /** The deadline itself. */
  deadlineAt: number;
}

function timersOf(i: Incident): IncidentTimers {
  return i.timers ?? { remindersSent: 0, warningsSent: [] };
}

/** The deadlines that still matter for this incident, with their warning points. */
export function deadlineWarnings(i: Incident, sla: SlaConfig): WarningDue[] {
  if (i.status === 'resolved') return [];
  const c = slaFor(sla, i.incidentClass);
  const out: WarningDue[] = [];
  const add = (deadline: DeadlineKind, within: number | undefined) => {
    if (within === undefined) return;
    const deadlineAt = i.openedAt + within;
    out.push({ id: `${deadline}-75`, deadline, level: 75, at: i.openedAt + Math.floor(within * WARN_AT), deadlineAt });
    out.push({ id: `${deadline}-100`, deadline, level: 100, at: deadlineAt, deadlineAt });
  };
  if (i.status === 'open') add('acknowledge', c.ackWithin);
  add('resolve', c.resolveWithin);
  return out;
}

/** Warnings not yet posted. */
export function pendingWarnings(i: Incident, sla: SlaConfig): WarningDue[] {
  const sent = new Set(timersOf(i).warningsSent);
  return deadlineWarnings(i, sla).filter((w) => !sent.has(w.id));
}

/** When the next reminder is due, honouring a snooze; undefined when no reminder is owed. */
export function reminderDueAt(i: Incident, sla: SlaConfig): number | undefined {
  if (i.status !== 'open') return undefined;
  const t = timersOf(i);
  const base = t.nextReminderAt ?? i.openedAt + slaFor(sla, i.incidentClass).remindEvery;
  return t.snoozedUntil !== undefined ? Math.max(base, t.snoozedUntil) : base;
}

/** The incident with its timers brought up to date with its state (call after every change). */
export function schedule(i: Incident, sla: SlaConfig): Incident {
  const t = timersOf(i);
  const nextReminderAt = i.status === 'open' ? (t.nextReminderAt ?? i.openedAt + slaFor(sla, i.incidentClass).remindEvery) : undefined;
  const next = { ...i, timers: { ...t, nextReminderAt } };
  if (nextReminderAt === undefined) delete next.timers.nextReminderAt;
  const candidates = [reminderDueAt(next, sla), ...pendingWarnings(next, sla).map((w) => w.at)].filter((x): x is number => x !== undefined);
  const nextDueAt = candidates.length > 0 ? Math.min(...candidates) : undefined;
  if (nextDueAt === undefined) delete next.timers.nextDueAt;
  else next.timers.nextDueAt = nextDueAt;
  return next;
}

export interface FiredReminder {
  incident: Incident;
  /** How long it has been unacknowledged. */
  unacknowledgedFor: number;
}

export interface Fired {
  incident: Incident;
  reminder?: FiredReminder;
  warnings: WarningDue[];
}

/** Whether a reminder for this incident may be said at `now`: unacknowledged and not snoozed. */
export function remindable(i: Incident, sla: SlaConfig, now: number): boolean {
  const snoozedUntil = timersOf(i).snoozedUntil;
  return reminderDueAt(i, sla) !== undefined && (snoozedUntil === undefined || snoozedUntil <= now);
}

/** When a reminder owed now may go to a topic last reminded at `lastAt`: one reminder message per topic per interval. */
export function topicHold(i: Incident, sla: SlaConfig, now: number, lastAt: number | undefined): number | undefined {
  if (lastAt === undefined) return undefined;
  const next = lastAt + slaFor(sla, i.incidentClass).remindEvery;
  return next > now ? next : undefined;
}

/** What falls due within this long of a topic's first due item goes out with it (at most; see coalesceWindow). */
export const COALESCE_MAX_MS = 60_000;

/**
 * How far ahead a topic's round looks: what falls due within `min(60 s, remindEvery / 4)` after
 * the first due item fires with it, so that reminders, 75 % warnings and breaches of incidents
 * opened close together make one message (one ping), not one each.
 */
export function coalesceWindow(i: Pick<Incident, 'incidentClass'>, sla: SlaConfig): number {
  return Math.min(COALESCE_MAX_MS, Math.floor(slaFor(sla, i.incidentClass).remindEvery / 4));
}

export interface FireOptions {
  /**
   * Fire what falls due up to this time too (a round coalescing a topic: see coalesceWindow).
   * A snoozed reminder is never pulled forward.
   */
  until?: number;
  /**
   * The topic got a reminder less than an interval ago: a reminder owed now waits until then,
   * when it goes out with the topic's next one (an incident read back after downtime, a moved one).
   */
  holdReminderUntil?: number;
  /** A reminder goes to the incident's topic now: this one (unacknowledged, not snoozed) is named in it, due or not, and its cadence follows the topic's. */
  remindNow?: boolean;
}

/**
 * Fires what is due at `now`, once: a reminder owed several times over (after downtime) is
 * posted once and the next one is set a full interval after `now`; of a deadline's 75 % warning and breach, only
 * the latest that fell due is posted. `opts` lines the reminder up with its topic's (see FireOptions).
 */
export function fireDue(i: Incident, sla: SlaConfig, now: number, opts: FireOptions = {}): Fired {
  const every = slaFor(sla, i.incidentClass).remindEvery;
  let t = { ...timersOf(i) };
  let reminder: FiredReminder | undefined;
  const due = reminderDueAt(i, sla);
  const until = Math.max(now, opts.until ?? now);
  const snoozed = t.snoozedUntil !== undefined && t.snoozedUntil > now;
  const owed = due !== undefined && (due <= now || (due <= until && !snoozed));
  if (owed && !opts.remindNow && opts.holdReminderUntil !== undefined && opts.holdReminderUntil > now) {
    t = { ...t, nextReminderAt: opts.holdReminderUntil };
  } else if (owed || (opts.remindNow && remindable(i, sla, now))) {
    // The next one on the cadence from opening, but never sooner than a full interval after this
    // one: a round that fired late (downtime, a busy tick) must not be followed by one at once.
    const periods = Math.floor((now - i.openedAt) / every) + 1;
    t = { ...t, nextReminderAt: Math.max(i.openedAt + periods * every, now + every), remindersSent: t.remindersSent + 1, lastReminderAt: now };
    delete t.snoozedUntil;
    reminder = { incident: i, unacknowledgedFor: now - i.openedAt };
  }
  const warnings: WarningDue[] = [];
  const sentNow = new Set<WarningId>();
  const pending = pendingWarnings(i, sla).filter((w) => w.at <= until);
  for (const kind of ['acknowledge', 'resolve'] as const) {
    const ofKind = pending.filter((w) => w.deadline === kind);
    if (ofKind.length === 0) continue;
    const latest = ofKind.reduce((a, b) => (b.level > a.level ? b : a));
    warnings.push(latest);
    for (const w of ofKind) sentNow.add(w.id);
    // A breach also settles its earlier warning.
    if (latest.level === 100) sentNow.add(`${kind}-75`);
  }
  t.warningsSent = [...new Set([...t.warningsSent, ...sentNow])];
  const incident = schedule({ ...i, timers: t }, sla);
  return { incident, ...(reminder ? { reminder: { ...reminder, incident } } : {}), warnings };
}

/** Pauses reminders until `until`, capped at the incident's next deadline. Returns the effective end. */
export function snooze(i: Incident, sla: SlaConfig, until: number): { incident: Incident; until: number } {
  const deadlines = deadlineWarnings(i, sla).filter((w) => w.level === 100).map((w) => w.deadlineAt);
  const capped = deadlines.length > 0 ? Math.min(until, ...deadlines) : until;
  const t = { ...timersOf(i), snoozedUntil: capped };
  return { incident: schedule({ ...i, timers: t }, sla), until: capped };
}
