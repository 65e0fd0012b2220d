import { renderOngoing } from './ongoing';
import { currentDeadline, timeLeft } from '../../domain/sla';
import { HOUR, incident, MIN, T0, testConfig } from '../../../test/support/factories';

const sla = testConfig().sla;

describe('SLA deadlines', () => {
  test('critical: resolve within 16h, acknowledged or not', () => {
    expect(currentDeadline(incident({ severity: 'High' }), sla)).toEqual({ kind: 'resolve', at: T0 + 16 * HOUR });
    expect(currentDeadline(incident({ severity: 'Disaster', status: 'acknowledged' }), sla)).toEqual({ kind: 'resolve', at: T0 + 16 * HOUR });
  });
  test('non-critical: acknowledge in 9h, then resolve in 7d', () => {
    expect(currentDeadline(incident({ severity: 'Average' }), sla)).toEqual({ kind: 'acknowledge', at: T0 + 9 * HOUR });
    expect(currentDeadline(incident({ severity: 'Warning', status: 'acknowledged' }), sla)).toEqual({ kind: 'resolve', at: T0 + 168 * HOUR });
  });
  test('informational: acknowledge in 72h, then nothing', () => {
    expect(currentDeadline(incident({ severity: 'Information' }), sla)).toEqual({ kind: 'acknowledge', at: T0 + 72 * HOUR });
    expect(currentDeadline(incident({ severity: 'Not classified', status: 'acknowledged' }), sla)).toBeUndefined();
  });
  test('resolved incidents have no deadline; overdue is negative', () => {
    expect(timeLeft(incident({ status: 'resolved' }), sla, T0)).toBeUndefined();
    expect(timeLeft(incident(), sla, T0 + 17 * HOUR)).toBe(-HOUR);
  });
});

describe('!ongoing rendering', () => {
  test('says so plainly when nothing is open', () => {
    const out = renderOngoing([incident({ status: 'resolved' })], sla, T0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/No open incidents/);
  });

  test('groups by class, most urgent first, with age, ack, SLA and topic link', () => {
    const list = [
      incident({ eventId: '1', severity: 'Warning', host: 'db-1', triggerName: 'Disk 85%', stream: 'SRE ## Non-critical', openedAt: T0 - 2 * HOUR }),
      incident({ eventId: '2', severity: 'High', host: 'web-1', triggerName: 'HTTPS down', openedAt: T0 - 30 * MIN }),
      incident({ eventId: '3', severity: 'Disaster', host: 'hv-1', triggerName: 'Host unreachable', openedAt: T0 - 3 * HOUR, status: 'acknowledged', acknowledgedBy: 'Ann' }),
      incident({ eventId: '4', severity: 'Information', host: 'git.example.org', triggerName: 'Cert expires in 20 days', stream: 'SRE ### Informational', openedAt: T0 - 80 * HOUR }),
    ];
    const [text] = renderOngoing(list, sla, T0);
    expect(text).toContain('**Ongoing incidents: 4** (2 critical, 1 non-critical, 1 informational; 3 unacknowledged)');
    const crit = text!.indexOf('**Critical**');
    const non = text!.indexOf('**Non-critical**');
    const info = text!.indexOf('**Informational**');
    expect(crit).toBeGreaterThan(0);
    expect(non).toBeGreaterThan(crit);
    expect(info).toBeGreaterThan(non);
    // hv-1 opened earlier: its resolve deadline is sooner, so it comes first.
    expect(text!.indexOf('hv-1')).toBeLessThan(text!.indexOf('web-1'));
    expect(text).toContain('| hv-1 | Host unreachable | 3h 00m | yes, Ann | 13h 00m to resolve | #**SRE # Critical>hv-1** |');
    expect(text).toContain('| web-1 | HTTPS down | 30m | **no** | 15h 30m to resolve |');
    expect(text).toContain('| db-1 | Disk 85% | 2h 00m | **no** | 7h 00m to ack | #**SRE ## Non-critical>db-1** |');
    expect(text).toContain('**ack overdue 8h 00m**');
  });

  test('table cells cannot break the table or ping anyone', () => {
    const [text] = renderOngoing([incident({ triggerName: 'a | b\n@**all** c' })], sla, T0);
    expect(text).toContain('a \\| b @_**all** c');
    expect(text).not.toMatch(/@\*\*all/);
  });

  /** The cells of a table row, split at the pipes Markdown splits at (not the escaped ones). */
  const cells = (row: string) => row.replace(/\\\\/g, '').split(/(?<!\\)\|/).slice(1, -1);

  test('a | in a topic, host or trigger name keeps the row at its seven columns (red-team finding 10)', () => {
    const [text] = renderOngoing([incident({ host: 'db|01', triggerName: 'a|b', topic: 'db | 01 @**all**', acknowledgedBy: 'x|y', status: 'acknowledged' })], sla, T0);
    const row = text!.split('\n').find((l) => l.startsWith('| db'))!;
    expect(cells(row)).toHaveLength(7);
    expect(row).not.toMatch(/@\*\*|@_?\*\*all/);
    expect(row).toContain('(#narrow/stream/SRE.20.23.20Critical/topic/db.20.7C.2001.20.40.2A.2Aall.2A.2A)');
  });

  test('NUL and right-to-left overrides in names are not echoed', () => {
    const [text] = renderOngoing([incident({ host: 'web\u0000-01', triggerName: 'HTTPS \u202Enwod si\u202C' })], sla, T0);
    expect(text).toContain('| web-01 | HTTPS nwod si |');
    expect(text).not.toMatch(/[\u0000\u202A-\u202E\u2066-\u2069]/);
  });

  test('long lists are summarised per class and split under the limit', () => {
    const many = Array.from({ length: 500 }, (_, n) => incident({ eventId: String(n), host: `host-${n}`, triggerName: 'x'.repeat(100), openedAt: T0 - n * MIN }));
    const parts = renderOngoing(many, sla, T0, { maxRowsPerClass: 200 });
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(10_000);
    for (const p of parts.slice(1)) expect(p.startsWith('| Host | Trigger')).toBe(true);
    const all = parts.join('\n');
    expect(all).toContain('…and 300 more critical (300 unacknowledged)');
    expect(all.match(/\| host-\d+ \|/g)).toHaveLength(200);
  });
});
