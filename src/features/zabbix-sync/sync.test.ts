import { ManualClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { IncidentLifecycle } from '../incidents/lifecycle';
import { openSqliteStore } from '../../store/sqlite-store';
import type { ZabbixApi, ZabbixEvent, ZabbixProblem } from '../../zabbix/client';
import { ZabbixSync } from './sync';
import { OutboxSpeaker } from '../../zulip/speaker';
import { incident, T0, testConfig } from '../../../test/support/factories';
import { drainMessages } from '../../../test/support/outbox';
import { tempDbPath } from '../../../test/support/temp';

function zevent(p: Partial<ZabbixEvent>): ZabbixEvent {
  return { eventId: '1', triggerId: '100', name: 'HTTPS is down', clock: T0 / 1000, severity: 'High', acknowledged: false, resolved: false, hosts: [{ hostId: '1', host: 'web-01', name: 'web-01' }], acknowledges: [], ...p };
}

function setup(zabbixConfig: Record<string, unknown> = {}) {
  const config = testConfig({ zabbix: { url: 'https://zbx.example.org', token: 't', syncEvery: '1m', ...zabbixConfig } });
  const store = openSqliteStore(tempDbPath('sre-sync-'));
  const clock = new ManualClock(T0 + 60_000);
  const speaker = new OutboxSpeaker(store, clock);
  const lifecycle = new IncidentLifecycle({ store, speaker, sla: config.sla, clock, log: silentLogger, userName: async () => 'Ann', jobs: { enqueue: () => {} } });
  const state = { events: [] as ZabbixEvent[], problems: [] as ZabbixProblem[], down: false, acked: [] as { ids: readonly string[]; message: string }[] };
  const fail = () => {
    if (state.down) throw new Error('Zabbix apiinfo.version: connect ECONNREFUSED');
  };
  const zabbix: ZabbixApi = {
    version: async () => '6.0.14',
    problems: async () => (fail(), state.problems),
    events: async (ids) => (fail(), state.events.filter((e) => ids.includes(e.eventId))),
    acknowledge: async (ids, message) => {
      fail();
      state.acked.push({ ids, message });
    },
    triggerItems: async () => [],
    checkNow: async () => [],
  };
  const sync = new ZabbixSync({ zabbix, store, speaker, lifecycle, config, clock, log: silentLogger, zabbixUrl: 'https://zbx.example.org' });
  return { store, clock, lifecycle, sync, state, said: () => drainMessages(store) };
}

test('an acknowledgement made in Zabbix acknowledges the incident and is said in its topic, once', async () => {
  const { lifecycle, sync, state, store, said } = setup();
  lifecycle.save(incident({ eventId: '1', topic: 'web-01' }));
  state.events = [zevent({ acknowledged: true, acknowledges: [{ clock: T0 / 1000, message: 'looking', user: 'Admin', acknowledged: true }] })];
  expect(await sync.run()).toEqual({ acknowledged: 1, resolved: 0, lost: 0 });
  expect(store.getIncident('1')).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'Admin (Zabbix)', ackNote: 'looking' });
  expect(store.getIncident('1')?.timers?.nextReminderAt).toBeUndefined();
  expect(said()).toEqual([{ stream: 'SRE # Critical', topic: 'web-01', content: '👍 Acknowledged in Zabbix by Admin: **HTTPS is down** (event 1) — looking' }]);
  expect(await sync.run()).toEqual({ acknowledged: 0, resolved: 0, lost: 0 });
});

test('a problem Zabbix shows resolved is resolved in the bot even without an OK post', async () => {
  const { lifecycle, sync, state, store, said } = setup();
  lifecycle.save(incident({ eventId: '1' }));
  state.events = [zevent({ resolved: true })];
  expect(await sync.run()).toMatchObject({ resolved: 1 });
  expect(store.getIncident('1')).toMatchObject({ status: 'resolved', resolution: 'zabbix' });
  expect(said()[0]!.content).toBe('✅ Zabbix reports **HTTPS is down** (event 1) resolved.');
});

test('problems whose alert never arrived are posted in the right stream and topic and tracked', async () => {
  const { sync, state, store, clock, said } = setup();
  await sync.run(); // first sync: remembers since when it looks
  clock.set(T0 + 10 * 60_000);
  state.problems = [
    { eventId: '77', triggerId: '300', name: 'Disk full', clock: (T0 + 2 * 60_000) / 1000, severity: 'Average', acknowledged: false },
    { eventId: '78', triggerId: '301', name: 'Too fresh', clock: (T0 + 9.5 * 60_000) / 1000, severity: 'High', acknowledged: false },
  ];
  state.events = [zevent({ eventId: '77', triggerId: '300', name: 'Disk full', severity: 'Average', clock: (T0 + 2 * 60_000) / 1000, hosts: [{ hostId: '2', host: 'db-01', name: 'db-01' }] })];
  expect(await sync.run()).toMatchObject({ lost: 1 });
  expect(store.getIncident('77')).toMatchObject({ stream: 'SRE ## Non-critical', topic: 'db-01', incidentClass: 'non-critical', status: 'open' });
  expect(store.getIncident('78')).toBeUndefined();
  const [msg] = said();
  expect(msg).toMatchObject({ stream: 'SRE ## Non-critical', topic: 'db-01' });
  expect(msg!.content).toContain('its alert never arrived here');
  expect(msg!.content).toContain('PROBLEM (Average) alert on [db-01](https://zbx.example.org/tr_events.php?triggerid=300&eventid=77):');
});

test('problems a maintenance suppresses are not adopted as lost webhooks, whether problem.get or the event re-check says so', async () => {
  const { sync, state, store, clock, said } = setup();
  await sync.run();
  clock.set(T0 + 10 * 60_000);
  const at = (T0 + 2 * 60_000) / 1000;
  state.problems = [
    { eventId: '81', triggerId: '310', name: 'Suppressed in problem.get', clock: at, severity: 'High', acknowledged: false, suppressed: true },
    { eventId: '82', triggerId: '311', name: 'Suppressed by the time of event.get', clock: at, severity: 'High', acknowledged: false, suppressed: false },
    { eventId: '83', triggerId: '312', name: 'Not suppressed', clock: at, severity: 'High', acknowledged: false },
  ];
  state.events = [
    zevent({ eventId: '81', triggerId: '310', name: 'Suppressed in problem.get', clock: at, suppressed: true }),
    zevent({ eventId: '82', triggerId: '311', name: 'Suppressed by the time of event.get', clock: at, suppressed: true }),
    zevent({ eventId: '83', triggerId: '312', name: 'Not suppressed', clock: at, suppressed: false }),
  ];
  expect(await sync.run()).toMatchObject({ lost: 1 });
  expect(store.getIncident('81')).toBeUndefined();
  expect(store.getIncident('82')).toBeUndefined();
  expect(store.getIncident('83')).toMatchObject({ status: 'open' });
  expect(said().map((m) => m.content.split('\n').at(-1))).toEqual(['* Not suppressed']);
  expect(await sync.run()).toMatchObject({ lost: 0 });
});

test('problems of severities outside zabbix.severities are not adopted as lost webhooks', async () => {
  const { sync, state, store, clock, said } = setup({ severities: ['Average', 'High', 'Disaster'] });
  await sync.run();
  clock.set(T0 + 10 * 60_000);
  const at = (T0 + 2 * 60_000) / 1000;
  state.problems = [
    { eventId: '91', triggerId: '320', name: 'Some info', clock: at, severity: 'Information', acknowledged: false },
    { eventId: '92', triggerId: '321', name: 'A warning', clock: at, severity: 'Warning', acknowledged: false },
    { eventId: '93', triggerId: '322', name: 'Disk full', clock: at, severity: 'Average', acknowledged: false },
    // problem.get said High, but the event's severity was changed to Warning in Zabbix since.
    { eventId: '94', triggerId: '323', name: 'Downgraded', clock: at, severity: 'High', acknowledged: false },
  ];
  state.events = [
    zevent({ eventId: '91', triggerId: '320', name: 'Some info', severity: 'Information', clock: at }),
    zevent({ eventId: '92', triggerId: '321', name: 'A warning', severity: 'Warning', clock: at }),
    zevent({ eventId: '93', triggerId: '322', name: 'Disk full', severity: 'Average', clock: at }),
    zevent({ eventId: '94', triggerId: '323', name: 'Downgraded', severity: 'Warning', clock: at }),
  ];
  expect(await sync.run()).toMatchObject({ lost: 1 });
  expect(['91', '92', '94'].map((id) => store.getIncident(id))).toEqual([undefined, undefined, undefined]);
  expect(store.getIncident('93')).toMatchObject({ severity: 'Average', stream: 'SRE ## Non-critical' });
  expect(said()).toHaveLength(1);
});

test('zabbix.severities defaults to all six Zabbix severities', () => {
  expect(testConfig().zabbix.severities).toEqual(['Not classified', 'Information', 'Warning', 'Average', 'High', 'Disaster']);
});

test('Zabbix down: said once in the general stream; recovery said once; chat acks still count', async () => {
  const { lifecycle, sync, state, said } = setup();
  lifecycle.save(incident({ eventId: '1' }));
  state.down = true;
  expect(await sync.run()).toBeUndefined();
  expect(await sync.run()).toBeUndefined();
  const failing = said();
  expect(failing).toHaveLength(1);
  expect(failing[0]).toMatchObject({ stream: 'SRE - General', topic: 'Zabbix sync' });
  expect(failing[0]!.content).toMatch(/^⚠️ Zabbix sync is failing \(Zabbix apiinfo.version: connect ECONNREFUSED\)/);
  const acked = lifecycle.acknowledgeTopic({ stream: 'SRE # Critical', topic: 'web-01.example.org' }, 'Ann', 'on it');
  expect(acked.acked).toHaveLength(1);
  const job = ZabbixSync.ackJob(acked.acked, 'Ann', 'on it', { stream: 'SRE # Critical', topic: 'web-01.example.org' })!;
  await expect(sync.acknowledgeJob.run(job, { attempt: 1, signal: new AbortController().signal })).rejects.toThrow(/ECONNREFUSED/);
  sync.acknowledgeJob.reportFailure!(job, new Error('connect ECONNREFUSED'));
  const [report] = said();
  expect(report).toMatchObject({ stream: 'SRE # Critical', topic: 'web-01.example.org' });
  expect(report!.content).toMatch(/^⚠️ Could not acknowledge in Zabbix yet .*the acknowledgement here still counts, and I keep trying/);
  state.down = false;
  await sync.run();
  await sync.run();
  expect(said().map((m) => m.content)).toEqual(['✅ Zabbix sync works again.']);
  await sync.acknowledgeJob.run(job, { attempt: 2, signal: new AbortController().signal });
  expect(state.acked).toEqual([{ ids: ['1'], message: 'on it — Ann (via Zulip)' }]);
});
