import { silentLogger } from '../../core/log';
import { ManualClock } from '../../core/clock';
import { IncidentLifecycle } from '../incidents/lifecycle';
import { ReminderEngine } from './engine';
import { openSqliteStore } from '../../store/sqlite-store';
import { OutboxSpeaker } from '../../zulip/speaker';
import { HOUR, incident, MIN, T0, testConfig } from '../../../test/support/factories';
import { drainMessages } from '../../../test/support/outbox';
import { tempDbPath } from '../../../test/support/temp';

const sla = testConfig().sla;

function setup(path = tempDbPath('sre-rem-')) {
  const store = openSqliteStore(path);
  const clock = new ManualClock(T0);
  const speaker = new OutboxSpeaker(store, clock);
  const lifecycle = new IncidentLifecycle({ store, speaker, sla, clock, log: silentLogger, userName: async () => 'Ann', jobs: { enqueue: () => {} } });
  const engine = new ReminderEngine({ store, speaker, sla, log: silentLogger, timeZone: 'UTC', addressee: () => ({ mention: '@**Ann Smith**', role: 'first responder' }) });
  const drain = () => drainMessages(store);
  return { store, clock, lifecycle, engine, drain, path };
}

test('five unacknowledged triggers on one host get one reminder message listing five', () => {
  const { clock, lifecycle, engine, drain, store } = setup();
  for (let n = 1; n <= 5; n++) lifecycle.save(incident({ eventId: String(n), triggerName: `Trigger ${n}`, openedAt: T0 + n * 1000 }));
  lifecycle.save(incident({ eventId: '9', host: 'other', topic: 'other' }));
  clock.set(T0 + HOUR + 10_000);
  const r = engine.tick(clock.now());
  expect(r).toEqual({ messages: 2, reminders: 6, warnings: 0, breaches: 0 });
  const msgs = drain();
  const web = msgs.find((m) => m.topic === 'web-01.example.org')!;
  expect(web.content).toContain('⏰ **Reminder**: 5 incidents in this topic are still unacknowledged — @**Ann Smith** (first responder):');
  for (let n = 1; n <= 5; n++) expect(web.content).toContain(`**Trigger ${n}**`);
  expect(web.content).toMatch(/unacknowledged for 1h 00m, 14h 59m left to resolve \(event \[1\]\(https:\/\/zabbix\.example\.org\/tr_events\.php\?triggerid=100&eventid=5000\)\)/);
  expect(engine.tick(clock.now())).toEqual({ messages: 0, reminders: 0, warnings: 0, breaches: 0 });
  expect(store.history('1').map((h) => h.kind)).toEqual(['reminder']);
});

test('a reminder for a moved topic goes to the new place', () => {
  const { clock, lifecycle, engine, drain, store } = setup();
  lifecycle.save(incident({ eventId: '1', stream: 'SRE # Critical', topic: 'web-01' }));
  store.moveTopic({ stream: 'SRE # Critical', topic: 'web-01' }, { stream: 'SRE ## Non-critical', topic: 'web-01 (moved)' });
  clock.set(T0 + HOUR);
  engine.tick(clock.now());
  expect(drain().map((m) => [m.stream, m.topic])).toEqual([['SRE ## Non-critical', 'web-01 (moved)']]);
});

test('acknowledged: no reminders; the 75% and breach warnings still come for a critical incident', () => {
  const { clock, lifecycle, engine, drain } = setup();
  lifecycle.save(incident({ eventId: '1' }));
  lifecycle.acknowledgeTopic({ stream: 'SRE # Critical', topic: 'web-01.example.org' }, 'Ann', 'on it');
  const posted: string[] = [];
  for (let t = T0; t <= T0 + 17 * HOUR; t += 5 * MIN) {
    clock.set(t);
    engine.tick(t);
    posted.push(...drain().map((m) => m.content));
  }
  expect(posted).toHaveLength(2);
  expect(posted[0]).toMatch(/^⚠️ \*\*SLA warning\*\*: 75% of the time to get \*\*HTTPS is down\*\* \(critical, event 1\) resolved has passed: 4h 00m left/);
  expect(posted[1]).toMatch(/^🚨 \*\*SLA breached\*\*: \*\*HTTPS is down\*\* \(critical, event 1\) was not resolved within 16h 00m/);
});

test('after downtime, a restarted engine fires what fell due once; breaches are recorded', () => {
  const s1 = setup();
  s1.lifecycle.save(incident({ eventId: '1' }));
  s1.store.close();
  const s2 = setup(s1.path);
  s2.clock.set(T0 + 20 * HOUR);
  expect(s2.engine.tick(s2.clock.now())).toEqual({ messages: 1, reminders: 1, warnings: 0, breaches: 1 });
  const [msg] = s2.drain();
  expect(msg!.content.match(/⏰/g)).toHaveLength(1);
  expect(msg!.content).toContain('SLA breached');
  s2.store.close();
  const s3 = setup(s1.path);
  s3.clock.set(T0 + 20 * HOUR + 30_000);
  expect(s3.engine.tick(s3.clock.now()).messages).toBe(0);
  expect(s3.store.logsOfKind('breach', 0).map((l) => l.detail)).toEqual(['resolve-100']);
});
