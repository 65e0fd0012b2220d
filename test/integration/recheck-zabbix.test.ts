/**
 * `!recheck` end to end with a REAL Zabbix 6.0 (scripts/zabbix-up.sh; shared with zabbix-e2e).
 *
 * "Execute now" only works for items Zabbix polls itself (not trapper items like e2e.status), so
 * this test keeps its own host: `recheck-01.example.org` in its own host group, which the
 * `Zulip e2e` action does not cover (no webhook posts into anyone's fake Zulip), with a trapper
 * item `recheck.src`, a calculated item `recheck.calc` = last(//recheck.src) polled only hourly,
 * and a High trigger on `recheck.calc`. So the trigger keeps firing after the source value
 * recovers until someone executes `recheck.calc` now: exactly the process's "Execute now" case.
 * The alert post is written into the fake Zulip by the test, with the real trigger and event ids.
 *
 * Sharing the server: nothing here touches e2e.status, its trigger, the webhook or the action;
 * the problem lives well under the sync's 90 s grace for adopting lost problems, so a
 * zabbix-e2e bot running at the same time never adopts it; it is cleared before and after.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZabbixClient } from '../../src/zabbix/client';
import { BotProcess, ROOT, setUpWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { FakeZulip, type FakeMessage } from '../support/fake-zulip';
import { alertPost } from '../support/factories';
import { until } from '../support/wait';

jest.setTimeout(300_000);

interface ZabbixEnv {
  url: string;
  apiUrl: string;
  token: string;
  serverConf: string;
  serverPort: number;
}

const WORKDIR = process.env.ZABBIX_WORKDIR ?? '/tmp/zbx-e2e';
const HOST = 'recheck-01.example.org';
const GROUP = 'SRE e2e recheck (no actions)';
const SRC_KEY = 'recheck.src';
const CALC_KEY = 'recheck.calc';
const TRIGGER = 'Recheck probe is down on {HOST.NAME}';
const TRIGGER_NAME = `Recheck probe is down on ${HOST}`;

let env: ZabbixEnv;
let zbx: ZabbixClient;
let fake: FakeZulip | undefined;
let w: World;
let bot: BotProcess | undefined;
let triggerId: string;
let calcItemId: string;
const t0 = Date.now();
const timeline: string[] = [];
const rendered: string[] = [];
const mark = (what: string) => timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${what}`);

async function rpc<T>(method: string, params: unknown): Promise<T> {
  const res = await fetch(env.apiUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json-rpc' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, auth: env.token, id: 1 }),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as { result?: T; error?: { message: string; data?: string } };
  if (json.error) throw new Error(`${method}: ${json.error.message} ${json.error.data ?? ''}`);
  return json.result as T;
}

function send(value: 0 | 1): boolean {
  const r = spawnSync('zabbix_sender', ['-z', '127.0.0.1', '-p', String(env.serverPort), '-s', HOST, '-k', SRC_KEY, '-o', String(value)], { encoding: 'utf8' });
  return /processed: 1/.test(r.stdout);
}


const triggerValue = async () => (await zbx.triggerItems([triggerId]))[0]?.value;

/** Host, items and trigger, created when missing (idempotent); true when something was created. */
async function provision(): Promise<boolean> {
  let created = false;
  let [group] = await rpc<{ groupid: string }[]>('hostgroup.get', { output: ['groupid'], filter: { name: [GROUP] } });
  if (!group) {
    group = { groupid: (await rpc<{ groupids: string[] }>('hostgroup.create', { name: GROUP })).groupids[0]! };
    created = true;
  }
  let [host] = await rpc<{ hostid: string }[]>('host.get', { output: ['hostid'], filter: { host: [HOST] } });
  if (!host) {
    host = { hostid: (await rpc<{ hostids: string[] }>('host.create', { host: HOST, groups: [{ groupid: group.groupid }] })).hostids[0]! };
    created = true;
  }
  const items = await rpc<{ itemid: string; key_: string }[]>('item.get', { output: ['itemid', 'key_'], hostids: [host.hostid] });
  if (!items.some((i) => i.key_ === SRC_KEY)) {
    await rpc('item.create', { hostid: host.hostid, name: 'Recheck probe source', key_: SRC_KEY, type: 2, value_type: 3, trapper_hosts: '', history: '1d', trends: '0' });
    created = true;
  }
  calcItemId = items.find((i) => i.key_ === CALC_KEY)?.itemid ?? '';
  if (!calcItemId) {
    calcItemId = (await rpc<{ itemids: string[] }>('item.create', { hostid: host.hostid, name: 'Recheck probe', key_: CALC_KEY, type: 15, value_type: 3, params: `last(//${SRC_KEY})`, delay: '1h', history: '1d', trends: '0' })).itemids[0]!;
    created = true;
  }
  const [trigger] = await rpc<{ triggerid: string }[]>('trigger.get', { output: ['triggerid'], hostids: [host.hostid], filter: { description: [TRIGGER] } });
  if (trigger) triggerId = trigger.triggerid;
  else {
    triggerId = (await rpc<{ triggerids: string[] }>('trigger.create', { description: TRIGGER, expression: `last(/${HOST}/${CALC_KEY})=0`, priority: 4, manual_close: 1 })).triggerids[0]!;
    created = true;
  }
  return created;
}

/** Source OK, calculated item executed now, trigger OK. */
async function clear(): Promise<void> {
  await until('the trapper accepts recheck.src', () => send(1), 60_000);
  await zbx.checkNow([calcItemId]);
  await until('the recheck trigger is OK', async () => (await triggerValue()) === 0, 60_000);
}

beforeAll(async () => {
  const readEnv = () => JSON.parse(readFileSync(join(WORKDIR, 'env.json'), 'utf8')) as ZabbixEnv;
  let ready = false;
  try {
    env = readEnv();
    await rpc('host.get', { output: ['hostid'], limit: 1 });
    ready = spawnSync('zabbix_sender', ['--version']).status === 0;
  } catch {
    ready = false;
  }
  if (!ready) {
    const up = spawnSync('bash', [join(ROOT, 'scripts/zabbix-up.sh')], { encoding: 'utf8', env: { ...process.env, ZABBIX_WORKDIR: WORKDIR }, timeout: 540_000 });
    if (up.status !== 0) throw new Error(`scripts/zabbix-up.sh failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
    env = readEnv();
  }
  zbx = new ZabbixClient({ url: env.url, token: env.token });
  if (await provision()) {
    spawnSync('zabbix_server', ['-c', env.serverConf, '-R', 'config_cache_reload'], { stdio: 'pipe' });
    mark('provisioned recheck-01 (own host group, no action); config cache reloaded');
  }
  await clear();
  mark('recheck trigger cleared (recheck.src=1, Execute now)');
});

afterAll(async () => {
  await bot?.kill('SIGTERM');
  await stopWorld({ fake }); // the fake and the world's temp dirs
  if (env && triggerId) await clear().catch((err: Error) => process.stdout.write(`cleanup: ${err.message}\n`));
  process.stdout.write(`\n--- !recheck with real Zabbix ---\n${timeline.join('\n')}\n\n${rendered.join('\n\n')}\n`);
});

test('!recheck: still firing while the source is down; a ✔ too early points to !recheck; OK after Execute now once it recovered', async () => {
  // The trigger fires: the source is down and the calculated item is executed now.
  send(0);
  await zbx.checkNow([calcItemId]);
  const problem = await until('a problem for the recheck trigger', async () => (await zbx.problems()).find((p) => p.triggerId === triggerId), 60_000);
  const firedAt = Date.now();
  mark(`recheck trigger fires (event ${problem.eventId})`);

  fake = await FakeZulip.start({ heartbeatMs: 2_000 });
  w = setUpWorld(fake, { zabbix: { url: env.url, token: env.token, syncEvery: '1h' }, runbook: { recheck: { wait: '20s' } } });
  bot = BotProcess.start(w.configPath);
  await bot.live();
  const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
  const post = fake.post(w.zabbix.email, STREAMS.critical, HOST, alertPost({ host: HOST, eventId: problem.eventId, triggerId, trigger: TRIGGER_NAME, severity: 'High', item: 'Recheck probe is 0' }));
  await bot.waitForLog((l) => l.messageId === post.id && l.outcome === 'opened', 15_000);
  mark('alert posted in the host topic; the bot tracks it');

  // 1. The source is still down: Execute now runs, the trigger still fires after the bounded wait.
  const c1 = fake.post(w.ann.email, STREAMS.critical, HOST, '!recheck');
  const ack1 = await fake.waitForMessage((m) => fromBot(m) && m.id > c1.id && m.content.startsWith('🔄 Asked Zabbix'), { timeoutMs: 15_000 });
  expect(ack1.content).toBe(`🔄 Asked Zabbix to execute 1 item now for **${TRIGGER_NAME}**; I'll report each trigger's state within 20s.`);
  const r1 = await fake.waitForMessage((m) => fromBot(m) && m.id > ack1.id && m.content.startsWith('🔄 **Recheck:**'), { timeoutMs: 40_000 });
  mark('!recheck #1 reported (source still down)');
  expect(r1.content).toContain(`- 🔥 **${TRIGGER_NAME}** (event ${problem.eventId}): **still firing**`);
  rendered.push(`[${r1.display_recipient} > ${r1.subject}] !recheck while the source is down:\n${ack1.content}\n${r1.content}`);

  // 2. The source recovers, but the hourly calculated item has not run: Zabbix still says firing.
  expect(send(1)).toBe(true);
  await new Promise((r) => setTimeout(r, 3_000));
  expect(await triggerValue()).toBe(1);
  mark('recheck.src=1; the trigger still fires (its item is only polled hourly)');

  // 3. Someone marks the topic ✔ too early: the warning (Zabbix says it fires) points to !recheck.
  fake.resolveTopic(STREAMS.critical, HOST, w.ann.email);
  const warn = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('⚠️ This topic was marked resolved'), { afterId: r1.id, timeoutMs: 15_000 });
  expect(warn.content).toContain('Zabbix says it is still firing');
  expect(warn.content).toContain('`!recheck` here has Zabbix execute its items now ("Execute now") and reports back');
  mark('topic marked ✔ while firing: the warning suggests !recheck');
  rendered.push(`[${warn.display_recipient} > ${warn.subject}] the ✔ warning:\n${warn.content}`);

  // 4. !recheck in the ✔ topic: Execute now, and the trigger is OK.
  const c2 = fake.post(w.ann.email, STREAMS.critical, `✔ ${HOST}`, '!recheck');
  const ack2 = await fake.waitForMessage((m) => fromBot(m) && m.id > c2.id && m.content.startsWith('🔄 Asked Zabbix'), { timeoutMs: 15_000 });
  const r2 = await fake.waitForMessage((m) => fromBot(m) && m.id > ack2.id && m.content.startsWith('🔄 **Recheck:**'), { timeoutMs: 40_000 });
  mark('!recheck #2 reported');
  expect(r2.content).toMatch(new RegExp(`^🔄 \\*\\*Recheck:\\*\\* Zabbix executed 1 item now; state after \\d+s:\\n- ✅ \\*\\*${TRIGGER_NAME.replace(/\./g, '\\.')}\\*\\* \\(event ${problem.eventId}\\): OK — no longer firing`));
  expect(r2.content).toContain('Nothing fires: the ✔ on this topic stands.');
  expect(await triggerValue()).toBe(0);
  expect(r2.subject).toBe(`✔ ${HOST}`);
  rendered.push(`[${r2.display_recipient} > ${r2.subject}] !recheck after the source recovered:\n${ack2.content}\n${r2.content}`);
  // Shared-server hygiene: the problem lived less than the sync's 90 s grace for adopting lost problems.
  expect(Date.now() - firedAt).toBeLessThan(85_000);
});
