/**
 * The incident model: one incident per Zabbix problem event. Pure functions over data; the
 * caller passes the time in. Nothing here does I/O.
 */
import type { ZabbixAlert } from './alert';
import type { IncidentClass, Severity } from './classes';

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';
export type Resolution = 'ok-alert' | 'topic-resolved' | 'zabbix' | 'manual' | 'linked' | 'agreed';

/** Where an incident is discussed: a stream and topic, followed through renames and moves. */
export interface TopicRef {
  stream: string;
  topic: string;
}

export interface Incident {
  eventId: string;
  triggerId: string;
  host: string;
  triggerName: string;
  itemText: string;
  severity: Severity;
  incidentClass: IncidentClass;
  link: string;
  stream: string;
  topic: string;
  status: IncidentStatus;
  /** Milliseconds since the epoch. */
  openedAt: number;
  /** Zulip message id of the first PROBLEM post. */
  openedMessageId: number;
  lastAlertAt: number;
  lastAlertMessageId: number;
  alertCount: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  /** The Zulip user id of whoever acknowledged it (or took it over at a handover); absent when acknowledged in Zabbix or before ids were kept. */
  acknowledgedById?: number;
  ackNote?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  resolution?: Resolution;
  /** SLA timers, as data (see src/domain/timers.ts). */
  timers?: IncidentTimers;
}

export type WarningId = 'acknowledge-75' | 'acknowledge-100' | 'resolve-75' | 'resolve-100';

export interface IncidentTimers {
  /** When the next "still unacknowledged" reminder is due. */
  nextReminderAt?: number;
  remindersSent: number;
  lastReminderAt?: number;
  /** Deadline warnings already posted. */
  warningsSent: WarningId[];
  /** Reminders paused until then (!snooze). */
  snoozedUntil?: number;
  /** The earliest of the above still to come: what the scheduler looks for. Derived, kept for the index. */
  nextDueAt?: number;
}

/** What lists of open incidents (`!ongoing`) need of each: read from the store without the rest. */
export type IncidentSummary = Pick<Incident, 'eventId' | 'host' | 'triggerName' | 'severity' | 'incidentClass' | 'stream' | 'topic' | 'status' | 'openedAt' | 'acknowledgedBy'> & Partial<Pick<Incident, 'link'>>;

/** One line of an incident's history: what happened, when, by whom. */
export interface IncidentLogEntry {
  eventId: string;
  at: number;
  kind: 'opened' | 'repeated' | 'acknowledged' | 'resolved' | 'reopened' | 'moved' | 'note' | 'reminder' | 'warning' | 'breach' | 'snoozed';
  actor?: string;
  detail?: string;
}

/** What a command changed, told to every module (Zabbix acknowledges too, metrics observe). */
export type IncidentChange =
  | { kind: 'acknowledged'; incidents: readonly Incident[]; by: string; note?: string; where: TopicRef; messageId?: number }
  | { kind: 'resolved'; incidents: readonly Incident[]; by: string; where: TopicRef }
  /** Reported by hand (`!incident`, `!track`): tracked from now in `where`; `messageId` is the command. */
  | { kind: 'opened'; incidents: readonly Incident[]; by: string; where: TopicRef; messageId?: number }
  /** Reminders paused (`!snooze`) until `until`. */
  | { kind: 'snoozed'; incidents: readonly Incident[]; by: string; where: TopicRef; until: number }
  /**
   * Zabbix's side changed (src/features/zabbix-sync/): acknowledged or resolved in Zabbix (the sync
   * applied it already), a problem whose alert post never came now tracked (`adopted`), or a chat
   * acknowledgement Zabbix took (`ack-confirmed`) or refused so far (`ack-failing`, retried).
   * Told to the modules; with the status card on, the state-only ones are not said as messages.
   */
  | { kind: 'zabbix'; incidents: readonly Incident[]; state: 'acknowledged' | 'resolved' | 'adopted' | 'ack-confirmed' | 'ack-failing'; by?: string; note?: string; where: TopicRef };

/** The Zulip post an alert arrived in. */
export interface AlertPost {
  messageId: number;
  /** Milliseconds since the epoch (the post's timestamp). */
  at: number;
  stream: string;
  topic: string;
  senderName: string;
}

export type AlertOutcome =
  | { kind: 'opened'; incident: Incident; log: IncidentLogEntry }
  /** No log entry: the incident's count and last alert say it (a storm's repeats would fill the log). */
  | { kind: 'repeated'; incident: Incident }
  /** The same problem posted again after its incident was resolved by ✔ or by hand: tracked again where Zabbix posted it. */
  | { kind: 'reopened'; incident: Incident; log: IncidentLogEntry; previous: TopicRef }
  /** The same post handled again (a replay after a crash): nothing changes. */
  | { kind: 'replayed'; incident: Incident }
  | { kind: 'resolved'; incident: Incident; log: IncidentLogEntry }
  /** An alert that changes nothing (an OK for an unknown or already resolved event). */
  | { kind: 'ignored'; reason: string };

/** Applies one parsed alert to the incident with its event id (if tracked). */
export function applyAlert(existing: Incident | undefined, alert: ZabbixAlert, post: AlertPost): AlertOutcome {
  if (alert.status === 'PROBLEM') {
    if (!existing) {
      const incident: Incident = {
        eventId: alert.eventId,
        triggerId: alert.triggerId,
        host: alert.host,
        triggerName: alert.triggerName,
        itemText: alert.itemText,
        severity: alert.severity,
        incidentClass: alert.incidentClass,
        link: alert.link,
        stream: post.stream,
        topic: post.topic,
        status: 'open',
        openedAt: post.at,
        openedMessageId: post.messageId,
        lastAlertAt: post.at,
        lastAlertMessageId: post.messageId,
        alertCount: 1,
      };
      return { kind: 'opened', incident, log: { eventId: alert.eventId, at: post.at, kind: 'opened', actor: post.senderName, detail: `${alert.severity}: ${alert.triggerName}` } };
    }
    if (post.messageId <= existing.lastAlertMessageId) return { kind: 'replayed', incident: existing };
    if (existing.status === 'resolved' && existing.resolution !== 'ok-alert') {
      // Resolved by a person (✔, !resolve) while Zabbix still fires: the process reopens it at once.
      // Its SLA clocks go on from the original opening; it needs acknowledging again.
      const incident: Incident = {
        ...reopen(existing, post.at),
        stream: post.stream,
        topic: post.topic,
        itemText: alert.itemText || existing.itemText,
        lastAlertAt: Math.max(existing.lastAlertAt, post.at),
        lastAlertMessageId: post.messageId,
        alertCount: existing.alertCount + 1,
      };
      const previous = { stream: existing.stream, topic: existing.topic };
      return { kind: 'reopened', incident, previous, log: { eventId: alert.eventId, at: post.at, kind: 'reopened', actor: post.senderName, detail: `posted again after it was resolved (${existing.resolution}) in ${existing.stream} > ${existing.topic}` } };
    }
    // The same problem posted again (Zabbix's repeat or update notification): same incident.
    const incident: Incident = {
      ...existing,
      itemText: alert.itemText || existing.itemText,
      lastAlertAt: Math.max(existing.lastAlertAt, post.at),
      lastAlertMessageId: Math.max(existing.lastAlertMessageId, post.messageId),
      alertCount: existing.alertCount + 1,
    };
    return { kind: 'repeated', incident };
  }
  if (!existing) return { kind: 'ignored', reason: `OK for event ${alert.eventId}, which is not tracked` };
  if (existing.status === 'resolved' && existing.resolution === 'ok-alert' && existing.lastAlertMessageId >= post.messageId) return { kind: 'replayed', incident: existing };
  if (existing.status === 'resolved') return { kind: 'ignored', reason: `OK for event ${alert.eventId}, already resolved` };
  const incident = { ...resolve(existing, { at: post.at, by: post.senderName, resolution: 'ok-alert' }), lastAlertMessageId: Math.max(existing.lastAlertMessageId, post.messageId) };
  return { kind: 'resolved', incident, log: { eventId: alert.eventId, at: post.at, kind: 'resolved', actor: post.senderName, detail: 'OK alert from Zabbix' } };
}

/**
 * Open again an incident a person resolved while its trigger still fires: unacknowledged, its SLA
 * counted from the first opening, the next reminder due at `at`.
 */
export function reopen(incident: Incident, at: number): Incident {
  const { resolvedAt: _r, resolvedBy: _b, resolution: _s, acknowledgedAt: _a, acknowledgedBy: _ab, acknowledgedById: _abi, ackNote: _n, ...rest } = incident;
  return { ...rest, status: 'open', ...(incident.timers ? { timers: { ...incident.timers, nextReminderAt: at } } : {}) };
}

export function resolve(incident: Incident, r: { at: number; by: string; resolution: Resolution }): Incident {
  return { ...incident, status: 'resolved', resolvedAt: r.at, resolvedBy: r.by, resolution: r.resolution };
}

export function acknowledge(incident: Incident, a: { at: number; by: string; byId?: number; note?: string }): Incident {
  if (incident.status !== 'open') return incident;
  const { acknowledgedById: _old, ...rest } = incident;
  return { ...rest, status: 'acknowledged', acknowledgedAt: a.at, acknowledgedBy: a.by, ...(a.byId !== undefined ? { acknowledgedById: a.byId } : {}), ...(a.note ? { ackNote: a.note } : {}) };
}


