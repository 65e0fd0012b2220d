import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { IncidentLifecycle } from '../incidents/lifecycle';
import { openSqliteStore } from '../../store/sqlite-store';
import type { ZabbixApi, ZabbixEvent, ZabbixProblem } from '../../zabbix/client';
import { ZabbixSync } from './sync';
import { OutboxSpeaker } from '../../zulip/speaker';
import { incident, T0, testConfig } from '../../../test/support/factories';
import { drainMessages } from '../../../test/support/outbox';

function zevent(p: Partial<ZabbixEvent>): ZabbixEvent {
  return { eventId: '1', triggerId: '100', name: 'HTTPS is down', clock: T0 / 1000, severity: 'High', acknowledged: false, resolved: false, hosts: [{ hostId: '1', host: 'web-01', name: 'web-01' }], acknowledges: [], ...p };
}

function setup() {
  const config = testConfig({ zabbix: { url: 'https://zbx.example.org', token: 't', syncEvery: '1m' } });
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'sre-sync-')), 'bot.db'));
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
