import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTopicRef } from '../incidents/manual-commands';
import { reportWindow } from './commands';
import { longTime, renderPostmortem } from './postmortem';
import { buildSlaReport, quantile, renderSlaReport } from './sla-report';
import { incident, HOUR, MIN, T0 } from '../../../test/support/factories';

const GOLDEN = join(__dirname, 'golden/postmortem.md');

/** A recorded incident: hv-03 crashed, two triggers, acknowledged, handed over, resolved. */
function recorded() {
  const a = incident({ eventId: '101', host: 'hv-03', topic: 'hv-03', triggerName: 'Hypervisor hv-03 is unreachable', severity: 'Disaster', status: 'resolved', acknowledgedAt: T0 + 4 * MIN, acknowledgedBy: 'Ann Smith', resolvedAt: T0 + 6 * HOUR + 30 * MIN, resolvedBy: 'Zabbix', resolution: 'ok-alert' });
  const b = incident({ eventId: '102', host: 'hv-03', topic: 'hv-03', triggerName: 'SSH service is down on hv-03', severity: 'High', openedAt: T0 + MIN, status: 'resolved', resolvedAt: T0 + 6 * HOUR, resolvedBy: 'Zabbix', resolution: 'ok-alert' });
  const logs = [
    { eventId: '101', at: T0, kind: 'opened' as const, actor: 'Zabbix', detail: 'Disaster: Hypervisor hv-03 is unreachable' },
    { eventId: '102', at: T0 + MIN, kind: 'opened' as const, actor: 'Zabbix', detail: 'High: SSH service is down on hv-03' },
    { eventId: '101', at: T0 + 4 * MIN, kind: 'acknowledged' as const, actor: 'Ann Smith', detail: 'rebooting' },
    { eventId: '102', at: T0 + HOUR, kind: 'reminder' as const, detail: 'reminder #1' },
    { eventId: '101', at: T0 + 6 * HOUR + 30 * MIN, kind: 'resolved' as const, actor: 'Zabbix', detail: 'OK alert from Zabbix' },
    { eventId: '102', at: T0 + 6 * HOUR, kind: 'resolved' as const, actor: 'Zabbix', detail: 'OK alert from Zabbix' },
  ];
  const posts = [
    { at: T0 + 5 * MIN, sender: 'Ann Smith', content: 'pando-like symptoms, checking IPMI\nmore detail' },
    { at: T0 + 2 * HOUR, sender: 'Bob Jones', content: 'kernel modules failed to build; booting the previous kernel @**all**' },
  ];
  const related = [incident({ eventId: '50', host: 'hv-03', topic: '✔ hv-03', triggerName: 'Hypervisor hv-03 is unreachable', openedAt: T0 - 30 * 24 * HOUR, status: 'resolved' })];
  return { a, b, logs, posts, related };
}

test('the postmortem draft of a recorded incident matches the golden file', () => {
  const { a, b, logs, posts, related } = recorded();
  const text = renderPostmortem({
    title: 'hv-03: 2 incidents',
    incidents: [a, b],
    logs,
    posts,
    handovers: [{ at: T0 + 3 * HOUR, from: 'Ann Smith', to: 'Bob Jones' }],
    related,
    timeZone: 'Europe/Amsterdam',
    now: T0 + 7 * HOUR,
  });
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
  expect(existsSync(GOLDEN)).toBe(true);
  expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  expect(text).toContain('| Duration | November 21, 2026 04:00 until November 21, 2026 10:30 (6h 30m) |');
  expect(text).toContain('| Responders | @_**Ann Smith** @_**Bob Jones** |');
  expect(text).not.toMatch(/@\*\*all/);
});

test('an open incident has no end yet', () => {
  const text = renderPostmortem({ title: 't', incidents: [incident()], logs: [], posts: [], handovers: [], related: [], timeZone: 'UTC', now: T0 + HOUR });
  expect(text).toContain(`| Duration | ${longTime(T0, 'UTC')} until — (still open; 1h 00m so far) |`);
});

test('SLA report: counts, medians and p90, breaches, top hosts', () => {
  const list = [
    incident({ eventId: '1', acknowledgedAt: T0 + 10 * MIN, resolvedAt: T0 + 2 * HOUR, status: 'resolved' }),
    incident({ eventId: '2', acknowledgedAt: T0 + 30 * MIN, status: 'acknowledged' }),
    incident({ eventId: '3', host: 'db-01', severity: 'Warning', resolvedAt: T0 + 3 * HOUR, status: 'resolved' }),
  ];
  const r = buildSlaReport(list, [{ eventId: '2', at: T0 + 16 * HOUR, kind: 'breach', detail: 'resolve-100' }], (id) => list.find((i) => i.eventId === id), T0, T0 + 7 * 24 * HOUR);
  expect(r.byClass.critical).toEqual({ count: 2, open: 1, ackMedian: 10 * MIN, ackP90: 30 * MIN, resolveMedian: 2 * HOUR, resolveP90: 2 * HOUR });
  expect(r.byClass['non-critical']).toEqual({ count: 1, open: 0, resolveMedian: 3 * HOUR, resolveP90: 3 * HOUR });
  expect(r.topHosts[0]).toEqual({ host: 'web-01.example.org', count: 2 });
  const text = renderSlaReport(r, 'SLA report, last 7 days', (ms) => new Date(ms).toISOString().slice(0, 10));
  expect(text).toContain('| Critical | 2 | 1 | 10m | 30m | 2h 00m | 2h 00m |');
  expect(text).toContain('— not resolved in time');
  expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
});

test('topic references: #**stream>topic** and Zulip links', async () => {
  const names = async (id: number) => (id === 24 ? 'SRE # Critical' : undefined);
  expect(await parseTopicRef('see #**SRE # Critical>hv-03**', names)).toEqual({ stream: 'SRE # Critical', topic: 'hv-03' });
  expect(await parseTopicRef('https://chat.example.org/#narrow/channel/24-SRE-.23-Critical/topic/web-01.2Eexample.20org/near/55', names)).toEqual({ stream: 'SRE # Critical', topic: 'web-01.example org' });
  expect(await parseTopicRef('https://chat.example.org/#narrow/stream/99-x/topic/y', names)).toBeUndefined();
  expect(await parseTopicRef('nothing', names)).toBeUndefined();
  expect(reportWindow('', T0)?.from).toBe(T0 - 7 * 24 * HOUR);
  expect(reportWindow('month', T0)?.from).toBe(T0 - 30 * 24 * HOUR);
  expect(reportWindow('year', T0)).toBeUndefined();
});
