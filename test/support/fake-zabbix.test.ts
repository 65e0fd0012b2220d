/**
 * Drives FakeZabbix through the bot's real Zabbix adapter (src/zabbix/client.ts), so the fake's
 * answers are checked against the adapter's zod schemas and its 6.0 auth handling.
 */
import { ZabbixClient, ZabbixError } from '../../src/zabbix/client';
import { FakeZabbix } from './fake-zabbix';

let zbx: FakeZabbix;

beforeEach(async () => {
  zbx = await FakeZabbix.start({ token: 'secret' });
  zbx.addProblem({ eventId: '5001', triggerId: '100', host: 'web-01.example.org', name: 'HTTPS is down on web-01', severity: 4, clock: 1_795_230_000, itemIds: ['700'] });
  zbx.addProblem({ eventId: '5002', triggerId: '101', host: 'db-01', hostName: 'db-01.example.org', name: 'Disk space low', severity: 2 });
});

afterEach(() => zbx.stop());

const client = (opts: { token?: string; timeoutMs?: number } = {}) =>
  new ZabbixClient({ url: zbx.url, token: opts.token ?? 'secret', retries: 0, timeoutMs: opts.timeoutMs ?? 2_000 });

test('apiinfo.version answers 6.0.30; a wrong token is refused', async () => {
  expect(await client().version()).toBe('6.0.30');
  await expect(client({ token: 'wrong' }).problems()).rejects.toThrow('Zabbix problem.get: Invalid params. Not authorized.');
  expect(zbx.calls).toEqual(['apiinfo.version', 'apiinfo.version', 'problem.get']);
});

test('event.get answers the events asked for, in the shape the adapter validates', async () => {
  const c = client();
  expect(await c.events(['5001'])).toEqual([
    {
      eventId: '5001',
      triggerId: '100',
      name: 'HTTPS is down on web-01',
      clock: 1_795_230_000,
      severity: 'High',
      acknowledged: false,
      resolved: false,
      suppressed: false,
      hosts: [{ hostId: '1100', host: 'web-01.example.org', name: 'web-01.example.org' }],
      acknowledges: [],
    },
  ]);
  const both = await c.events(['5002', '5001', '404']);
  expect(both.map((e) => e.eventId)).toEqual(['5002', '5001']);
  expect(both[0]).toMatchObject({ severity: 'Warning', hosts: [{ host: 'db-01', name: 'db-01.example.org' }] });
  zbx.resolveProblem('5002');
  expect((await c.events(['5002']))[0]?.resolved).toBe(true);
});

test('event.acknowledge is recorded, marks the events acknowledged and shows in event.get', async () => {
  const c = client();
  await c.acknowledge(['5001'], 'on it — Ann Smith (via Zulip)');
  expect(zbx.acks).toEqual([{ eventIds: ['5001'], message: 'on it — Ann Smith (via Zulip)', action: 6 }]);
  expect(zbx.acksFor('5001')).toHaveLength(1);
  expect(zbx.acksFor('5002')).toHaveLength(0);
  const [e] = await c.events(['5001']);
  expect(e?.acknowledged).toBe(true);
  expect(e?.acknowledges).toEqual([{ clock: expect.any(Number), message: 'on it — Ann Smith (via Zulip)', user: 'Admin', acknowledged: true }]);
  expect((await c.problems({ eventIds: ['5001'] }))[0]?.acknowledged).toBe(true);
  // Unknown events are refused, and not recorded.
  const err = (await c.acknowledge(['404'], 'x').catch((x: unknown) => x)) as ZabbixError;
  expect(err).toBeInstanceOf(ZabbixError);
  expect(err.code).toBe(-32500);
  expect(zbx.acks).toHaveLength(1);
});

test('problem.get lists open, unsuppressed problems (time_from and eventids honoured)', async () => {
  zbx.addProblem({ eventId: '5003', triggerId: '102', host: 'x', name: 'suppressed', severity: 5, suppressed: true });
  const c = client();
  expect((await c.problems()).map((p) => p.eventId).sort()).toEqual(['5001', '5002']);
  zbx.resolveProblem('5001');
  expect(await c.problems()).toEqual([expect.objectContaining({ eventId: '5002', triggerId: '101', severity: 'Warning', acknowledged: false })]);
  expect(await c.problems({ sinceSec: Math.floor(Date.now() / 1000) + 3600 })).toEqual([]);
  expect(await c.problems({ eventIds: ['5001'] })).toEqual([]);
});

test('trigger.get gives value 1 while a problem is open, 0 once resolved; task.create gives task ids', async () => {
  const c = client();
  expect(await c.triggerItems(['100', '101'])).toEqual([
    { triggerId: '100', itemIds: ['700'], value: 1, description: 'HTTPS is down on web-01' },
    { triggerId: '101', itemIds: [], value: 1, description: 'Disk space low' },
  ]);
  zbx.resolveProblem('5001');
  expect((await c.triggerItems(['100']))[0]?.value).toBe(0);
  expect(await c.checkNow(['700'])).toEqual(['1']);
  expect(zbx.tasks).toEqual(['700']);
});

test('hang: every request (apiinfo.version included) goes unanswered; after unhang new requests are answered', async () => {
  const c = client({ timeoutMs: 300 });
  expect(await c.version()).toBe('6.0.30');
  zbx.hang = true;
  expect(zbx.hang).toBe(true);
  await expect(c.acknowledge(['5001'], 'while hanging')).rejects.toThrow('Zabbix event.acknowledge: no answer within 300 ms');
  await expect(client({ timeoutMs: 300 }).version()).rejects.toThrow('Zabbix apiinfo.version: no answer within 300 ms');
  expect(zbx.acks).toEqual([]);
  expect(zbx.event('5001')?.acknowledged).toBe(false);
  expect(zbx.hungRequests).toBe(2);

  zbx.hang = false;
  await c.acknowledge(['5001'], 'after the hang');
  expect(zbx.acks).toEqual([{ eventIds: ['5001'], message: 'after the hang', action: 6 }]);
  expect(await client().version()).toBe('6.0.30');
  expect(zbx.calls).toEqual(['apiinfo.version', 'event.acknowledge', 'apiinfo.version', 'event.acknowledge', 'apiinfo.version']);
});
