/**
 * Rows of the incidents, incident log and handler tables as both stores read and write them (the
 * SQLite and the PostgreSQL store share one schema): one mapping, so the two cannot drift apart.
 */
import type { Incident, IncidentLogEntry, IncidentTimers, WarningId } from '../domain/incident';
import type { Handler } from './store';

export interface IncidentRow {
  event_id: string;
  trigger_id: string;
  host: string;
  trigger_name: string;
  item_text: string;
  severity: string;
  incident_class: string;
  link: string;
  stream: string;
  topic: string;
  status: string;
  opened_at: number;
  opened_message_id: number;
  last_alert_at: number;
  last_alert_message_id: number;
  alert_count: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  acknowledged_by_id: number | null;
  ack_note: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  resolution: string | null;
  next_reminder_at: number | null;
  reminders_sent: number;
  last_reminder_at: number | null;
  warnings_sent: string;
  snoozed_until: number | null;
  next_due_at: number | null;
}

/** The incidents table's columns, in the order of `incidentValues`. */
export const INCIDENT_COLUMNS = [
  'event_id', 'trigger_id', 'host', 'trigger_name', 'item_text', 'severity', 'incident_class', 'link', 'stream', 'topic', 'status',
  'opened_at', 'opened_message_id', 'last_alert_at', 'last_alert_message_id', 'alert_count', 'acknowledged_at', 'acknowledged_by',
  'acknowledged_by_id', 'ack_note', 'resolved_at', 'resolved_by', 'resolution', 'next_reminder_at', 'reminders_sent', 'last_reminder_at',
  'warnings_sent', 'snoozed_until', 'next_due_at',
] as const;

export function toIncident(r: IncidentRow): Incident {
  const i: Incident = {
    eventId: r.event_id,
    triggerId: r.trigger_id,
    host: r.host,
    triggerName: r.trigger_name,
    itemText: r.item_text,
    severity: r.severity as Incident['severity'],
    incidentClass: r.incident_class as Incident['incidentClass'],
    link: r.link,
    stream: r.stream,
    topic: r.topic,
    status: r.status as Incident['status'],
    openedAt: r.opened_at,
    openedMessageId: r.opened_message_id,
    lastAlertAt: r.last_alert_at,
    lastAlertMessageId: r.last_alert_message_id,
    alertCount: r.alert_count,
  };
  if (r.acknowledged_at !== null) i.acknowledgedAt = r.acknowledged_at;
  if (r.acknowledged_by !== null) i.acknowledgedBy = r.acknowledged_by;
  if (r.acknowledged_by_id !== null && r.acknowledged_by_id !== undefined) i.acknowledgedById = r.acknowledged_by_id;
  if (r.ack_note !== null) i.ackNote = r.ack_note;
  if (r.resolved_at !== null) i.resolvedAt = r.resolved_at;
  if (r.resolved_by !== null) i.resolvedBy = r.resolved_by;
  if (r.resolution !== null) i.resolution = r.resolution as Incident['resolution'];
  const timers: IncidentTimers = { remindersSent: r.reminders_sent, warningsSent: r.warnings_sent === '[]' ? [] : (JSON.parse(r.warnings_sent) as WarningId[]) };
  if (r.next_reminder_at !== null) timers.nextReminderAt = r.next_reminder_at;
  if (r.last_reminder_at !== null) timers.lastReminderAt = r.last_reminder_at;
  if (r.snoozed_until !== null) timers.snoozedUntil = r.snoozed_until;
  if (r.next_due_at !== null) timers.nextDueAt = r.next_due_at;
  i.timers = timers;
  return i;
}

/** The incident as its row. */
export function toIncidentRow(i: Incident): IncidentRow {
  return {
    event_id: i.eventId,
    trigger_id: i.triggerId,
    host: i.host,
    trigger_name: i.triggerName,
    item_text: i.itemText,
    severity: i.severity,
    incident_class: i.incidentClass,
    link: i.link,
    stream: i.stream,
    topic: i.topic,
    status: i.status,
    opened_at: i.openedAt,
    opened_message_id: i.openedMessageId,
    last_alert_at: i.lastAlertAt,
    last_alert_message_id: i.lastAlertMessageId,
    alert_count: i.alertCount,
    acknowledged_at: i.acknowledgedAt ?? null,
    acknowledged_by: i.acknowledgedBy ?? null,
    acknowledged_by_id: i.acknowledgedById ?? null,
    ack_note: i.ackNote ?? null,
    resolved_at: i.resolvedAt ?? null,
    resolved_by: i.resolvedBy ?? null,
    resolution: i.resolution ?? null,
    next_reminder_at: i.timers?.nextReminderAt ?? null,
    reminders_sent: i.timers?.remindersSent ?? 0,
    last_reminder_at: i.timers?.lastReminderAt ?? null,
    warnings_sent: JSON.stringify(i.timers?.warningsSent ?? []),
    snoozed_until: i.timers?.snoozedUntil ?? null,
    next_due_at: i.status === 'resolved' ? null : (i.timers?.nextDueAt ?? null),
  };
}

/** The row's values in INCIDENT_COLUMNS' order (positional parameters). */
export function incidentValues(i: Incident): unknown[] {
  const row = toIncidentRow(i) as unknown as Record<string, unknown>;
  return INCIDENT_COLUMNS.map((c) => row[c]);
}

export type LogRow = { event_id: string; at: number; kind: string; actor: string | null; detail: string | null };
export function toLogEntry(r: LogRow): IncidentLogEntry {
  return {
    eventId: r.event_id,
    at: r.at,
    kind: r.kind as IncidentLogEntry['kind'],
    ...(r.actor !== null ? { actor: r.actor } : {}),
    ...(r.detail !== null ? { detail: r.detail } : {}),
  };
}

export type HandlerRow = { stream: string; topic_key: string; person_id: number; person_name: string; since: number; until: number };
export function toHandler(r: HandlerRow): Handler {
  return { stream: r.stream, topic: r.topic_key, person: { id: r.person_id, name: r.person_name }, since: r.since, until: r.until };
}
