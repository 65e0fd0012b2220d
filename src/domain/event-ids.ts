/**
 * Incident ids: a Zabbix problem is keyed by its event id (digits); an incident reported by hand
 * (`!incident`, `!track`) by `M` and the id of the message that reported it.
 */

/** True for a Zabbix event id (digits only): Zabbix knows it. */
export function isZabbixEventId(eventId: string): boolean {
  return /^\d+$/.test(eventId);
}

/** `[7001](zabbix link)` where the alert gave a link to Zabbix; the bare id otherwise. */
export function eventRef(i: { eventId: string; link?: string }): string {
  return i.link && /^https?:\/\/\S+$/.test(i.link) && isZabbixEventId(i.eventId) ? `[${i.eventId}](${i.link})` : i.eventId;
}

/** The id of an incident reported by hand in message `messageId`. */
export function manualEventId(messageId: number): string {
  return `M${messageId}`;
}
