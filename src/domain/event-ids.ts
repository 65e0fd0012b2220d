/**
 * Incident ids: a Zabbix problem is keyed by its event id (digits); an incident reported by hand
 * (`!incident`, `!track`) by `M` and the id of the message that reported it.
 */

/** True for a Zabbix event id (digits only): Zabbix knows it. */
export function isZabbixEventId(eventId: string): boolean {
  return /^\d+$/.test(eventId);
}

/** The id of an incident reported by hand in message `messageId`. */
export function manualEventId(messageId: number): string {
  return `M${messageId}`;
}
