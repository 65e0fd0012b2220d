/** Test data builders shared by unit tests. */
import { validateConfig } from '../../src/config/load';
import type { BotConfig } from '../../src/config/schema';
import type { Incident } from '../../src/domain/incident';
import { type ZabbixAlert } from '../../src/domain/alert';
import { SEVERITY_CLASS, type Severity } from '../../src/domain/classes';
import type { StreamMessage } from '../../src/zulip/api';

export const T0 = Date.UTC(2026, 10, 21, 3, 0, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;

export function testConfig(overrides: Record<string, unknown> = {}): BotConfig {
  const r = validateConfig({
    zulip: { site: 'https://chat.example.org', email: 'sre-bot@example.org', apiKey: 'k' },
    alerts: { senders: ['zabbix@example.org'] },
    ...overrides,
  });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

const CLASS_OF = SEVERITY_CLASS;

export function alert(p: Partial<ZabbixAlert> = {}): ZabbixAlert {
  const severity = p.severity ?? 'High';
  return {
    status: 'PROBLEM',
    severity,
    incidentClass: CLASS_OF[severity],
    host: 'web-01.example.org',
    zabbixUrl: 'https://zabbix.example.org',
    link: `https://zabbix.example.org/tr_events.php?triggerid=${p.triggerId ?? '100'}&eventid=${p.eventId ?? '5000'}`,
    triggerId: '100',
    eventId: '5000',
    triggerName: 'HTTPS is down',
    itemText: 'HTTPS status is 0',
    ...p,
  };
}

export function incident(p: Partial<Incident> = {}): Incident {
  const severity = p.severity ?? 'High';
  return {
    eventId: '5000',
    triggerId: '100',
    host: 'web-01.example.org',
    triggerName: 'HTTPS is down',
    itemText: 'HTTPS status is 0',
    severity,
    incidentClass: CLASS_OF[severity],
    link: 'https://zabbix.example.org/tr_events.php?triggerid=100&eventid=5000',
    stream: 'SRE # Critical',
    topic: p.host ?? 'web-01.example.org',
    status: 'open',
    openedAt: T0,
    openedMessageId: 1,
    lastAlertAt: T0,
    lastAlertMessageId: 1,
    alertCount: 1,
    ...p,
  };
}

/** A stream message as the Zulip adapter hands it to the bot: Ann posting in SRE # Critical unless told otherwise. */
export function streamMessage(p: Partial<StreamMessage> & Pick<StreamMessage, 'id' | 'content' | 'timestamp'>): StreamMessage {
  return {
    streamId: 1,
    stream: 'SRE # Critical',
    topic: 'web-01.example.org',
    senderId: 2,
    senderEmail: 'ann@example.org',
    senderName: 'Ann Smith',
    client: 'website',
    ...p,
  };
}

/** Renders an alert the way Zulip's Zabbix integration posts it. */
export function alertPost(a: { status?: 'PROBLEM' | 'OK'; severity?: Severity; host: string; eventId: string; triggerId?: string; trigger?: string; item?: string; emoji?: string }): string {
  const status = a.status ?? 'PROBLEM';
  const emoji = a.emoji ?? (status === 'PROBLEM' ? ':red_circle:' : ':check:');
  return [
    `${emoji} ${status} (${a.severity ?? 'High'}) alert on [${a.host}](https://zabbix.example.org/tr_events.php?triggerid=${a.triggerId ?? '100'}&eventid=${a.eventId}):`,
    `* ${a.trigger ?? `HTTPS is down on ${a.host}`}`,
    `* ${a.item ?? 'HTTPS status is 0'}`,
  ].join('\n');
}
