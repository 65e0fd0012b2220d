/** !recheck against a scripted Zabbix: check-now for the firing triggers' items, a bounded wait, the report. */
import { ManualClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import type { Incident } from '../../domain/incident';
import { NO_ZABBIX_TEXT, RecheckService } from './recheck';
import { ZabbixError, type ZabbixApi } from '../../zabbix/client';
import { incident, T0 } from '../../../test/support/factories';
import { inProcessBot } from '../../../test/support/harness';

type Trigger = { triggerId: string; itemIds: string[]; value: 0 | 1; description: string };

/** A Zabbix whose trigger values follow a script: `afterCheck` ms after check-now, the value becomes `to`. */
class ScriptedZabbix implements Partial<ZabbixApi> {
  checked: string[][] = [];
  reads = 0;
  checkedAt: number | undefined;
  constructor(
    private readonly clock: ManualClock,
    public triggers: Trigger[],
    private readonly script: { afterCheck?: number; to?: Record<string, 0 | 1>; refuse?: string[]; failReads?: number } = {},
  ) {}
  async triggerItems(ids: readonly string[]): Promise<Trigger[]> {
    this.reads++;
    if (this.checkedAt !== undefined && (this.script.failReads ?? 0) >= this.reads - 1) throw new ZabbixError('trigger.get', 'HTTP 502', undefined, true);
    const switched = this.checkedAt !== undefined && this.clock.now() >= this.checkedAt + (this.script.afterCheck ?? Infinity);
    return this.triggers.filter((t) => ids.includes(t.triggerId)).map((t) => ({ ...t, value: switched ? (this.script.to?.[t.triggerId] ?? t.value) : t.value }));
  }
  async checkNow(itemIds: readonly string[]): Promise<string[]> {
    const refused = itemIds.filter((i) => this.script.refuse?.includes(i));
    if (refused.length > 0) throw new ZabbixError('task.create', 'Invalid params. Cannot send request: wrong item type.', -32602);
    this.checked.push([...itemIds]);
    this.checkedAt ??= this.clock.now();
    return itemIds.map((_, n) => String(900 + n));
  }
}

function setup(incidents: Incident[], zabbix: ScriptedZabbix | undefined, clock: ManualClock, waitMs = 30_000, topic = 'web-01.example.org') {
  const store = { incidentsInTopic: () => incidents };
  const said: string[] = [];
  const svc = new RecheckService({
    ...(zabbix ? { zabbix: zabbix as unknown as ZabbixApi } : {}),
    store,
    clock,
    log: silentLogger,
    waitMs,
    pollMs: 2_000,
    sleep: async (ms) => clock.advance(ms),
  });
  const run = () => svc.start({ stream: 'SRE # Critical', topic }, (t) => said.push(t), 'Ann Smith');
  return { svc, said, run };
}

const ssh = incident({ eventId: '7001', triggerId: '501', triggerName: 'SSH service is down on web-01.example.org' });
const https = incident({ eventId: '7002', triggerId: '502', triggerName: 'HTTPS is down on web-01.example.org', openedAt: T0 + 1 });

test('fires → check-now → OK after 6 s: asks for the items of the firing triggers, reports OK early', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['44', '45'], value: 1, description: 'SSH' }], { afterCheck: 6_000, to: { '501': 0 } });
  const { said, run } = setup([ssh], zbx, clock);
  await run();
  expect(zbx.checked).toEqual([['44', '45']]);
  expect(said).toEqual([
    "🔄 Asked Zabbix to execute 2 items now for **SSH service is down on web-01.example.org**; I'll report each trigger's state within 30s.",
    [
      '🔄 **Recheck:** Zabbix executed 2 items now; state after 6s:',
      '- ✅ **SSH service is down on web-01.example.org** (event 7001): OK — no longer firing (the OK post or the next sync closes it here)',
      'Nothing fires: per the process, mark the topic resolved (✔) when no other triggers fire for the host.',
    ].join('\n'),
  ]);
});

test('still firing after the bounded wait: says so and does not wait longer', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [
    { triggerId: '501', itemIds: ['44'], value: 1, description: 'SSH' },
    { triggerId: '502', itemIds: ['46'], value: 1, description: 'HTTPS' },
  ], { afterCheck: 3_000, to: { '502': 0 } });
  const { said, run } = setup([ssh, https], zbx, clock, 10_000);
  await run();
  expect(clock.now() - T0).toBe(10_000);
  expect(said[1]!.split('\n')).toEqual([
    '🔄 **Recheck:** Zabbix executed 2 items now; state after 10s:',
    '- ✅ **HTTPS is down on web-01.example.org** (event 7002): OK — no longer firing (the OK post or the next sync closes it here)',
    '- 🔥 **SSH service is down on web-01.example.org** (event 7001): **still firing**',
    "Still firing: don't mark the topic resolved yet. Check the item's latest data in Zabbix (did the value update?) and the trigger definition.",
  ]);
  expect(zbx.reads).toBe(1 + 5); // before, then every 2 s for 10 s
});

test('items Zabbix cannot execute (trapper): the others are executed, the refusal is said', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['44', '45'], value: 1, description: 'SSH' }], { refuse: ['45'], afterCheck: 2_000, to: { '501': 0 } });
  const { said, run } = setup([ssh], zbx, clock);
  await run();
  expect(zbx.checked).toEqual([['44']]);
  expect(said[0]).toBe(
    "🔄 Asked Zabbix to execute 1 item now for **SSH service is down on web-01.example.org**; I'll report each trigger's state within 30s. Zabbix cannot execute 1 item now (Invalid params. Cannot send request: wrong item type.) — trapper and active-agent items only update when data arrives.",
  );
  expect(said[1]).toContain('✅ **SSH service is down on web-01.example.org** (event 7001): OK');
});

test('nothing executable: no wait, the current state', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['45'], value: 1, description: 'SSH' }], { refuse: ['45'] });
  const { said, run } = setup([ssh], zbx, clock);
  await run();
  expect(clock.now()).toBe(T0);
  expect(said[0]).toMatch(/^🔄 Zabbix cannot execute 1 item now \(Invalid params/);
  expect(said[1]).toMatch(/^🔄 \*\*Recheck:\*\* Zabbix could not execute any item now; current state:\n- 🔥/);
});

test('a ✔ topic: its resolved incidents whose triggers still fire in Zabbix are rechecked; OK ones are not', async () => {
  const clock = new ManualClock(T0);
  const resolved = { ...ssh, status: 'resolved' as const, topic: '✔ web-01.example.org' };
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['44'], value: 1, description: 'SSH' }, { triggerId: '502', itemIds: ['46'], value: 0, description: 'HTTPS' }], { afterCheck: 4_000, to: { '501': 0 } });
  const { said, run } = setup([resolved, { ...https, status: 'resolved' }], zbx, clock, 30_000, '✔ web-01.example.org');
  await run();
  expect(zbx.checked).toEqual([['44']]);
  expect(said[1]).toContain('- ✅ **SSH service is down on web-01.example.org** (event 7001): OK — no longer firing\n');
  expect(said[1]).toMatch(/\nNothing fires: the ✔ on this topic stands\.$/);
});

test('nothing fires and nothing is open: nothing to recheck', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['44'], value: 0, description: 'SSH' }]);
  const { said, run } = setup([{ ...ssh, status: 'resolved' }, { ...https, status: 'resolved' }], zbx, clock);
  await run();
  expect(zbx.checked).toEqual([]);
  expect(said).toEqual(['✅ Zabbix says no trigger of this topic fires (**SSH service is down on web-01.example.org**): nothing to recheck.\n❓ Zabbix does not know **HTTPS is down on web-01.example.org** (any more?).']);
});

test('a transient read failure while waiting is retried; Zabbix down at the start is said plainly', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['44'], value: 1, description: 'SSH' }], { afterCheck: 1_000, to: { '501': 0 }, failReads: 1 });
  const { said, run } = setup([ssh], zbx, clock);
  await run();
  expect(said[1]).toContain('state after 4s');

  const down = { triggerItems: async () => { throw new ZabbixError('trigger.get', 'no answer within 10000 ms', undefined, true); } } as unknown as ScriptedZabbix;
  const s2 = setup([ssh], down, clock);
  await s2.run();
  expect(s2.said).toEqual(["⚠️ Recheck failed: Zabbix trigger.get: no answer within 10000 ms. Use Zabbix's **Execute now** on the items by hand."]);
});

test('one recheck per topic at a time; no Zabbix incident; no Zabbix at all', async () => {
  const clock = new ManualClock(T0);
  const zbx = new ScriptedZabbix(clock, [{ triggerId: '501', itemIds: ['44'], value: 1, description: 'SSH' }]);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const store = { incidentsInTopic: () => [ssh] };
  const said: string[] = [];
  const svc = new RecheckService({ zabbix: zbx as unknown as ZabbixApi, store, clock, log: silentLogger, waitMs: 4_000, sleep: async (ms) => { await gate; clock.advance(ms); } });
  const first = svc.start({ stream: 's', topic: 't' }, (x) => said.push(x), 'a');
  expect(svc.start({ stream: 's', topic: '✔ t' }, (x) => said.push(x), 'b')).toBeUndefined();
  release();
  await first;
  expect(said[0]).toBe('A recheck is already running in this topic; its report follows.');

  const manual = setup([incident({ eventId: 'M-1', triggerId: 'manual' })], zbx, clock);
  expect(manual.run()).toBeUndefined();
  expect(manual.said).toEqual(['Nothing to recheck: no Zabbix problem is tracked in this topic.']);

  const none = setup([ssh], undefined, clock);
  expect(none.run()).toBeUndefined();
  expect(none.said).toEqual([NO_ZABBIX_TEXT]);
});

test('wired in the app: !recheck without Zabbix says so plainly; listed in !help', async () => {
  const bot = await inProcessBot({ at: T0 });
  await bot.say('!recheck', { topic: 'web-01' });
  await bot.say('!help', { topic: 'web-01' });
  const out = bot.replies();
  expect(out[0]!.content).toBe(NO_ZABBIX_TEXT);
  expect(out[0]!.content).toMatch(/^`!recheck` needs the Zabbix API, and this bot has none configured/);
  expect(out[1]!.content).toContain('| `!recheck` | in an incident\'s topic: has Zabbix execute the items behind its firing triggers now');
});
