/** The status card's text at each state (pure): what the team reads at the top of an incident topic. */
import { incident, testConfig } from '../../../test/support/factories';
import type { Incident } from '../../domain/incident';
import { renderCard, type CardContext } from './render';

const config = testConfig();
const OPENED = Date.parse('2026-11-23T09:00:00Z'); // 10:00 CET
const LINK = 'https://zabbix.example.org/tr_events.php?triggerid=100&eventid=7001';
const base = incident({ eventId: '7001', link: LINK, triggerName: 'HTTPS is down on web-01', host: 'web-01', topic: 'web-01', openedAt: OPENED, lastAlertAt: OPENED });
const ctx = (p: Partial<CardContext> = {}): CardContext => ({ sla: config.sla, timeZone: 'Europe/Amsterdam', now: OPENED + 60_000, zabbixConfigured: true, acknowledgeEmoji: ['working_on_it', 'eyes'], ...p });

test('open: class, SLA deadline in the team time zone, not acknowledged, Zabbix with the event link, how to acknowledge', () => {
  expect(renderCard([base], ctx())).toBe(
    [
      '🚦 **Status** — 1 open, **1 not acknowledged**',
      '',
      `🔴 **HTTPS is down on web-01** · High on web-01 · event 7001`,
      '- Critical · opened 2026-11-23 10:00 CET · SLA: resolve by 2026-11-24 02:00 CET',
      '- **Not acknowledged**',
      `- Zabbix: problem, unacknowledged · event [7001](${LINK})`,
      '',
      '_To acknowledge: `!ack`, or :working_on_it: or :eyes: on the alert or on this message. This card is kept up to date; reminders still come as messages._',
    ].join('\n'),
  );
});

test('acknowledged, handled, snoozed, with its GitLab issue and a linked topic', () => {
  const acked: Incident = { ...base, status: 'acknowledged', acknowledgedBy: 'Ann Smith', acknowledgedAt: OPENED + 5 * 60_000, ackNote: 'looking at the LB', timers: { remindersSent: 0, warningsSent: [], snoozedUntil: OPENED + 3_600_000 } };
  const text = renderCard([acked], ctx({
    zabbixAck: () => 'confirmed',
    handledBy: () => ({ name: 'Bob Jones', role: 'handling area web' }),
    issueLine: () => 'GitLab: [#12](https://git.example.org/sre/incidents/-/issues/12) (open)',
    linked: () => [{ ref: { stream: 'SRE # Critical', topic: '✔ web-01' }, why: 'earlier incidents of this host' }],
  }));
  expect(text).toBe(
    [
      '🚦 **Status** — 1 open, acknowledged',
      '',
      `🟡 **HTTPS is down on web-01** · High on web-01 · event 7001`,
      '- Critical · opened 2026-11-23 10:00 CET · SLA: resolve by 2026-11-24 02:00 CET',
      '- Acknowledged by **Ann Smith** at 2026-11-23 10:05 CET — looking at the LB',
      '- Handled by **Bob Jones** (handling area web)',
      '- Reminders snoozed until 2026-11-23 11:00 CET',
      `- Zabbix: acknowledged from chat · event [7001](${LINK})`,
      '- GitLab: [#12](https://git.example.org/sre/incidents/-/issues/12) (open)',
      '- Linked: #**SRE # Critical>✔ web-01** (earlier incidents of this host)',
    ].join('\n'),
  );
  // A snooze that ran out is no longer shown.
  expect(renderCard([acked], ctx({ now: OPENED + 2 * 3_600_000 }))).not.toContain('snoozed');
});

test('Zabbix states: acknowledged there, failing from chat, not connected, recovered', () => {
  const z = (i: Partial<Incident>, c: Partial<CardContext> = {}) => renderCard([{ ...base, ...i }], ctx(c)).split('\n').find((l) => l.startsWith('- Zabbix'));
  expect(z({ status: 'acknowledged', acknowledgedBy: 'Admin (Zabbix)', acknowledgedAt: OPENED })).toBe(`- Zabbix: acknowledged in Zabbix · event [7001](${LINK})`);
  expect(z({ status: 'acknowledged', acknowledgedBy: 'Ann Smith', acknowledgedAt: OPENED }, { zabbixAck: () => 'failing' })).toMatch(/^- Zabbix: ⚠️ the acknowledgement is not in Zabbix yet/);
  expect(z({ status: 'acknowledged', acknowledgedBy: 'Ann Smith', acknowledgedAt: OPENED }, { zabbixAck: () => 'sent' })).toMatch(/^- Zabbix: acknowledging there…/);
  expect(z({ status: 'acknowledged', acknowledgedBy: 'Ann Smith', acknowledgedAt: OPENED }, { zabbixConfigured: false })).toMatch(/not connected to Zabbix: acknowledge there too/);
  expect(z({ status: 'resolved', resolution: 'ok-alert', resolvedBy: 'Zabbix', resolvedAt: OPENED + 3_600_000 })).toBe(`- Zabbix: OK (recovered) · event [7001](${LINK})`);
  // Reported by hand: no Zabbix line.
  expect(z({ eventId: 'M123', link: '' })).toBeUndefined();
});

test('resolved: the SLA verdict, who and how; earlier resolved incidents in a line each', () => {
  const done: Incident = { ...base, status: 'resolved', acknowledgedBy: 'Ann Smith', acknowledgedAt: OPENED + 300_000, resolvedBy: 'Ann Smith', resolvedAt: OPENED + 65 * 60_000, resolution: 'agreed' };
  const older: Incident = { ...base, eventId: '6990', triggerName: 'Disk full', status: 'resolved', resolvedBy: 'Zabbix', resolvedAt: OPENED - 3_600_000, resolution: 'ok-alert', link: '' };
  expect(renderCard([older, done], ctx())).toBe(
    [
      '🚦 **Status** — all resolved ✅',
      '',
      `✅ **HTTPS is down on web-01** · High on web-01 · event 7001`,
      '- Critical · resolved after 1h 05m, within the 16h 00m',
      '- Resolved by **Ann Smith** at 2026-11-23 11:05 CET (agreed fully resolved)',
      `- Zabbix: closed here by hand; no OK from Zabbix yet · event [7001](${LINK})`,
      '',
      '✅ ~~Disk full~~ · event 6990 — resolved by Zabbix at 2026-11-23 09:00 CET (OK from Zabbix)',
    ].join('\n'),
  );
});

test('names from outside never mention anyone; many incidents are capped', () => {
  const hostile: Incident = { ...base, triggerName: 'db @**all** down', status: 'acknowledged', acknowledgedBy: '@**everyone**', acknowledgedAt: OPENED };
  const text = renderCard([hostile], ctx());
  expect(text).not.toMatch(/@\*\*/);
  expect(text).toContain('@_**all**');
  const many = Array.from({ length: 40 }, (_, n) => ({ ...base, eventId: String(8000 + n) }));
  const big = renderCard(many, ctx());
  expect(big).toContain('… and 25 more open here (`!ongoing` lists them).');
  expect(big.length).toBeLessThan(10_000);
});
