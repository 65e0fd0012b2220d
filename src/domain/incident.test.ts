import { acknowledge, applyAlert } from './incident';
import { alert, incident, T0 } from '../../test/support/factories';

const post = (messageId: number, at = T0) => ({ messageId, at, stream: 'SRE # Critical', topic: 'web-01.example.org', senderName: 'Zabbix' });

describe('applyAlert', () => {
  test('a PROBLEM for a new event opens an incident in the post topic', () => {
    const out = applyAlert(undefined, alert({ eventId: '42', severity: 'Disaster' }), post(7));
    expect(out.kind).toBe('opened');
    if (out.kind !== 'opened') return;
    expect(out.incident).toMatchObject({ eventId: '42', status: 'open', incidentClass: 'critical', stream: 'SRE # Critical', topic: 'web-01.example.org', openedAt: T0, openedMessageId: 7, alertCount: 1 });
    expect(out.log).toMatchObject({ eventId: '42', kind: 'opened', actor: 'Zabbix' });
  });

  test('the same PROBLEM again is the same incident, counted, not reopened', () => {
    const first = applyAlert(undefined, alert(), post(1));
    if (first.kind !== 'opened') throw new Error();
    const acked = acknowledge(first.incident, { at: T0 + 10, by: 'Ann' });
    const again = applyAlert(acked, alert(), post(2, T0 + 1000));
    expect(again.kind).toBe('repeated');
    if (again.kind !== 'repeated') return;
    expect(again.incident).toMatchObject({ status: 'acknowledged', alertCount: 2, lastAlertMessageId: 2, openedMessageId: 1, openedAt: T0 });
    expect(again).not.toHaveProperty('log'); // counted on the incident, not written to its log
  });

  test('an OK resolves the incident with that event id', () => {
    const out = applyAlert(incident({ eventId: '9' }), alert({ status: 'OK', eventId: '9' }), post(3, T0 + 5000));
    expect(out.kind).toBe('resolved');
    if (out.kind !== 'resolved') return;
    expect(out.incident).toMatchObject({ status: 'resolved', resolvedAt: T0 + 5000, resolvedBy: 'Zabbix', resolution: 'ok-alert' });
  });

  test('an OK for an unknown or resolved event changes nothing', () => {
    expect(applyAlert(undefined, alert({ status: 'OK' }), post(1)).kind).toBe('ignored');
    expect(applyAlert(incident({ status: 'resolved' }), alert({ status: 'OK' }), post(1)).kind).toBe('ignored');
  });

  test('acknowledge records who, when and the note, once', () => {
    const a = acknowledge(incident(), { at: T0 + 60_000, by: 'Ann', note: 'looking' });
    expect(a).toMatchObject({ status: 'acknowledged', acknowledgedAt: T0 + 60_000, acknowledgedBy: 'Ann', ackNote: 'looking' });
    expect(acknowledge(a, { at: T0 + 120_000, by: 'Bob' })).toBe(a);
  });
});

describe('replays after a crash', () => {
  test('the same PROBLEM post handled again changes nothing', () => {
    const first = applyAlert(undefined, alert(), post(5));
    if (first.kind !== 'opened') throw new Error();
    const again = applyAlert(first.incident, alert(), post(5));
    expect(again).toEqual({ kind: 'replayed', incident: first.incident });
  });
  test('the same OK post handled again changes nothing', () => {
    const ok = applyAlert(incident({ eventId: '9', lastAlertMessageId: 3 }), alert({ status: 'OK', eventId: '9' }), post(7));
    if (ok.kind !== 'resolved') throw new Error();
    expect(applyAlert(ok.incident, alert({ status: 'OK', eventId: '9' }), post(7)).kind).toBe('replayed');
    expect(applyAlert(ok.incident, alert({ status: 'OK', eventId: '9' }), post(8)).kind).toBe('ignored');
  });
});
