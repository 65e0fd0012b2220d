/**
 * End to end with a REAL Zabbix 6.0 (installed and started by scripts/zabbix-up.sh, idempotent):
 * zabbix_sender fires the trigger → Zabbix's webhook posts into the fake Zulip in the format of
 * Zulip's Zabbix integration → the bot tracks it → !ack acknowledges in Zabbix → the trigger
 * clears → Zabbix's recovery post and the sync resolve it. And an acknowledgement made in Zabbix
 * itself stops the bot's reminders.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZabbixClient } from '../../src/zabbix/client';
import { BotProcess, ROOT, setUpWorld, STREAMS, type World } from '../support/bot-process';
import { FakeZulip, type FakeMessage } from '../support/fake-zulip';
import { until } from '../support/wait';

jest.setTimeout(600_000);

interface ZabbixEnv {
  url: string;
  token: string;
  hostName: string;
  itemKey: string;
  triggerId: string;
  serverPort: number;
}

const WORKDIR = process.env.ZABBIX_WORKDIR ?? '/tmp/zbx-e2e';
let env: ZabbixEnv;
let zbx: ZabbixClient;
let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;
const t0 = Date.now();
const timeline: string[] = [];
const mark = (what: string) => timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${what}`);

function send(value: 0 | 1): void {
  execFileSync('zabbix_sender', ['-z', '127.0.0.1', '-p', String(env.serverPort), '-s', env.hostName, '-k', env.itemKey, '-o', String(value)], { stdio: 'pipe' });
}


beforeAll(async () => {
  const started = Date.now();
  const up = spawnSync('bash', [join(ROOT, 'scripts/zabbix-up.sh')], { encoding: 'utf8', env: { ...process.env, ZABBIX_WORKDIR: WORKDIR }, timeout: 540_000 });
  if (up.status !== 0) throw new Error(`scripts/zabbix-up.sh failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
  process.stdout.write(`zabbix-up (${((Date.now() - started) / 1000).toFixed(1)}s): ${up.stdout.trim().split('\n').slice(-1)[0]}\n`);
  env = JSON.parse(readFileSync(join(WORKDIR, 'env.json'), 'utf8')) as ZabbixEnv;
  zbx = new ZabbixClient({ url: env.url, token: env.token });
  // Start from a cleared trigger.
  send(1);
  await until('no open e2e problem', async () => (await zbx.problems()).every((p) => p.triggerId !== env.triggerId) || undefined, 60_000);
  fake = await FakeZulip.start({ heartbeatMs: 2_000 });
  w = setUpWorld(fake, {
    zabbix: { url: env.url, token: env.token, syncEvery: '2s' },
    sla: { critical: { remindEvery: '3s', resolveWithin: '16h' } },
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { setWebhookUrl } = require(join(ROOT, 'scripts/zabbix/set-webhook-url.js')) as { setWebhookUrl: (u: string) => Promise<unknown> };
  await setWebhookUrl(`${fake.url}/api/v1/external/zabbix?api_key=${w.zabbix.apiKey}&stream=${encodeURIComponent(STREAMS.critical)}`);
  bot = BotProcess.start(w.configPath);
  await bot.live();
});

afterAll(async () => {
  await bot?.kill('SIGTERM');
  await fake?.stop();
  process.stdout.write(`\n--- Zabbix e2e timeline ---\n${timeline.join('\n')}\n`);
});

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
const zabbixPost = (status: 'PROBLEM' | 'OK', afterId = 0) =>
  fake.waitForMessage((m) => m.sender_email === w.zabbix.email && m.client === 'ZulipZabbixWebhook' && m.content.startsWith(`${status} (`), { afterId, timeoutMs: 60_000 });

test('trigger fires → tracked → !ack acknowledges in Zabbix → trigger clears → resolved', async () => {
  mark('zabbix_sender e2e.status=0 (trigger fires)');
  send(0);
  const problem = await zabbixPost('PROBLEM');
  mark(`Zabbix webhook posted PROBLEM into ${problem.display_recipient} > ${problem.subject}`);
  expect(problem.subject).toBe(env.hostName);
  expect(problem.content).toMatch(/^PROBLEM \(High\) alert on \[web-01\.example\.org\]\(http:\/\/127\.0\.0\.1:\d+\/tr_events\.php\?triggerid=\d+&eventid=(\d+)\):\n\* E2E service is down on web-01\.example\.org\n\* /);
  const eventId = /eventid=(\d+)/.exec(problem.content)![1]!;
  await bot!.waitForLog((l) => l.messageId === problem.id && l.outcome === 'opened', 15_000);
  mark(`bot tracks event ${eventId}`);

  const ack = fake.post(w.ann.email, STREAMS.critical, env.hostName, '!ack e2e: looking at it');
  await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('✅ Acknowledged by Ann Smith'), { afterId: ack.id });
  const acked = await until('Zabbix shows the event acknowledged', async () => {
    const [e] = await zbx.events([eventId]);
    return e?.acknowledged ? e : undefined;
  });
  mark('!ack in the topic; Zabbix shows the event acknowledged');
  expect(acked.acknowledges.map((a) => a.message)).toContain('e2e: looking at it — Ann Smith (via Zulip)');

  send(1);
  mark('zabbix_sender e2e.status=1 (trigger clears)');
  const ok = await zabbixPost('OK', problem.id);
  mark('Zabbix webhook posted OK');
  expect(ok.content).toContain(`eventid=${eventId}`);
  // Whichever comes first resolves it: Zabbix's recovery post, or the sync seeing r_eventid set.
  const how = await bot!.waitForLog((l) => (l.messageId === ok.id && (l.outcome === 'resolved' || l.msg === 'alert changes nothing')) || (l.msg === 'Zabbix sync applied changes' && Number(l.resolved) > 0), 15_000);
  mark(`bot resolved the incident (${how.msg === 'Zabbix sync applied changes' ? 'by the sync, before the OK post' : how.outcome === 'resolved' ? 'from the OK post' : 'by the sync; the OK post then changed nothing'})`);
  const q = fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  expect((await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: q.id })).content).toMatch(/No open incidents/);
});

test('an acknowledgement made in Zabbix stops the reminders and shows in the topic; a ✔ with the trigger firing is flagged by Zabbix', async () => {
  send(0);
  mark('zabbix_sender e2e.status=0 (fires again)');
  const problem = await zabbixPost('PROBLEM', fake.messages().at(-1)?.id ?? 0);
  // Values sent by zabbix_sender within the same second can make Zabbix close a problem and open
  // another; take the event that is open, the one the reminder names.
  const reminder = await fake.waitForMessage((m) => fromBot(m) && m.content.includes('⏰'), { afterId: problem.id, timeoutMs: 15_000 });
  const eventId = /\(event (\d+)\)/.exec(reminder.content)![1]!;
  mark(`reminder for event ${eventId} posted`);
  await zbx.acknowledge([eventId], 'acked straight in Zabbix');
  mark('acknowledged through the Zabbix API');
  const shown = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('👍 Acknowledged in Zabbix by'), { afterId: reminder.id, timeoutMs: 30_000 });
  mark('sync posted the Zabbix acknowledgement in the topic');
  expect(shown.content).toContain('acked straight in Zabbix');
  await new Promise((r) => setTimeout(r, 7_000));
  expect(fake.messagesBy(w.bot.email).filter((m) => m.id > shown.id && m.content.includes('⏰'))).toEqual([]);

  fake.resolveTopic(STREAMS.critical, env.hostName, w.ann.email);
  const warn = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('⚠️ This topic was marked resolved'), { afterId: shown.id });
  expect(warn.content).toContain('Zabbix says it is still firing');
  mark('topic marked ✔ while firing: the bot says Zabbix still fires');
  send(1);
}, 300_000);

test('the importable media type file (zabbix/zulip-media-type.yaml) imports into Zabbix 6.0', async () => {
  const rpc = async (method: string, params: unknown) => {
    const r = await fetch(`${env.url}/api_jsonrpc.php`, { method: 'POST', headers: { 'content-type': 'application/json-rpc' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, auth: env.token, method, params }) });
    return (await r.json()) as { result?: unknown; error?: unknown };
  };
  const imported = await rpc('configuration.import', { format: 'yaml', rules: { mediaTypes: { createMissing: true, updateExisting: true } }, source: readFileSync(join(ROOT, 'zabbix/zulip-media-type.yaml'), 'utf8') });
  expect(imported).toEqual(expect.objectContaining({ result: true }));
  const got = (await rpc('mediatype.get', { filter: { name: 'Zulip (zulip-sre-bot)' }, output: ['type'], selectMessageTemplates: 'extend' })) as { result: { type: string; message_templates: unknown[] }[] };
  expect(got.result[0]?.type).toBe('4');
  expect(got.result[0]?.message_templates).toHaveLength(3);
});
