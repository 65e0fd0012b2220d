/** A Zabbix alert post as Zulip's Zabbix integration renders it (src/zabbix/parse-alert.ts reads it). Pure data. */
import type { IncidentClass, Severity } from './classes';

export type AlertStatus = 'PROBLEM' | 'OK';

export interface ZabbixAlert {
  status: AlertStatus;
  severity: Severity;
  incidentClass: IncidentClass;
  host: string;
  /** Base URL of the Zabbix frontend, as it appears before /tr_events.php. */
  zabbixUrl: string;
  link: string;
  triggerId: string;
  eventId: string;
  triggerName: string;
  /** The `<item name> is <item value>` line, as posted (may be empty when absent). */
  itemText: string;
  /** The emoji prefix as posted (`:fire:` or a Unicode emoji), if any. */
  emoji?: string;
}


export type ParseResult = { ok: true; alert: ZabbixAlert } | { ok: false; reason: string };
