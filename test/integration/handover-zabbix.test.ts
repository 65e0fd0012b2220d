/**
 * The Zabbix side of the first-responder handover (issue 19) against a REAL Zabbix 6.0
 * (scripts/zabbix-up.sh, idempotent, as in zabbix-e2e.test.ts): the set-up makes, through the API,
 * a user group for the FR (`zabbix.firstResponder`) and two Zabbix users — Ann's found by her
 * e-mail media, Bob's by `zabbix.users` — and a group both stay in (Zabbix refuses a user without
 * a group). `!fr @**Ann Smith**` puts Ann in; after the two-party `!handover` completes, the group
 * holds Bob's user and not Ann's. Prints the handover as it renders.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BotProcess, ROOT, setUpWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { FakeZulip, type FakeMessage } from '../support/fake-zulip';
import { until } from '../support/wait';

jest.setTimeout(600_000);

interface ZabbixEnv {
  url: string;
  token: string;
}

const WORKDIR = process.env.ZABBIX_WORKDIR ?? '/tmp/zbx-e2e';
const FR_GROUP = 'SRE first responders (handover e2e)';
const STAFF_GROUP = 'SRE staff (handover e2e)';
const ANN_USER = 'handover-e2e-ann';
const BOB_USER = 'handover-e2e-bob';

let env: ZabbixEnv;
let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

async function rpc<T>(method: string, params: unknown): Promise<T> {
  const res = await fetch(`${env.url}/api_jsonrpc.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/json-rpc' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, auth: env.token, method, params }),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as { result?: T; error?: { message: string; data?: string } };
  if (json.error) throw new Error(`${method}: ${json.error.message} ${json.error.data ?? ''}`);
  return json.result as T;
}

/** Removes what an earlier (aborted) run left: the two users, then the two groups. */
async function cleanUp(): Promise<void> {
  const users = await rpc<{ userid: string }[]>('user.get', { output: ['userid'], filter: { username: [ANN_USER, BOB_USER] } });
  if (users.length > 0) await rpc('user.delete', users.map((u) => u.userid));
  const groups = await rpc<{ usrgrpid: string }[]>('usergroup.get', { output: ['usrgrpid'], filter: { name: [FR_GROUP, STAFF_GROUP] } });
  if (groups.length > 0) await rpc('usergroup.delete', groups.map((g) => g.usrgrpid));
}

async function frGroupMembers(): Promise<string[]> {
  const [g] = await rpc<{ users: { username: string }[] }[]>('usergroup.get', { output: ['usrgrpid'], filter: { name: FR_GROUP }, selectUsers: ['username'] });
  return (g?.users ?? []).map((u) => u.username).sort();
}

beforeAll(async () => {
  const up = spawnSync('bash', [join(ROOT, 'scripts/zabbix-up.sh')], { encoding: 'utf8', env: { ...process.env, ZABBIX_WORKDIR: WORKDIR }, timeout: 540_000 });
  if (up.status !== 0) throw new Error(`scripts/zabbix-up.sh failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
  env = JSON.parse(readFileSync(join(WORKDIR, 'env.json'), 'utf8')) as ZabbixEnv;
  await cleanUp();
  const [{ usrgrpids: [staff] = [] }] = [await rpc<{ usrgrpids: string[] }>('usergroup.create', { name: STAFF_GROUP })];
  await rpc('usergroup.create', { name: FR_GROUP });
  const [email] = await rpc<{ mediatypeid: string }[]>('mediatype.get', { output: ['mediatypeid'], filter: { type: 0 } });
  const [role] = await rpc<{ roleid: string }[]>('role.get', { output: ['roleid'], filter: { name: 'User role' } });
  const user = (username: string, extra: object) => rpc('user.create', { username, passwd: 'Handover-e2e-Passw0rd!', roleid: role!.roleid, usrgrps: [{ usrgrpid: staff }], ...extra });
  await user(ANN_USER, { name: 'Ann', surname: 'Smith', medias: [{ mediatypeid: email!.mediatypeid, sendto: ['ann@example.org'], active: 0, severity: 63, period: '1-7,00:00-24:00' }] });
  await user(BOB_USER, { name: 'Bob', surname: 'Jones' });

  fake = await FakeZulip.start({ heartbeatMs: 2_000 });
  w = setUpWorld(fake, { zabbix: { url: env.url, token: env.token, syncEvery: '1m', firstResponder: FR_GROUP, users: { 'bob@example.org': BOB_USER } } });
  bot = BotProcess.start(w.configPath);
  await bot.live();
});

afterAll(async () => {
  await bot?.kill('SIGTERM');
  await stopWorld({ fake }); // the fake and the world's temp dirs
  if (env) await cleanUp().catch(() => undefined);
});

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;

test('after the handover completes, the Zabbix user group holds the new FR\'s user and not the old one\'s', async () => {
  const transcript: string[] = [];
  const line = (m: FakeMessage) => transcript.push(`${m.display_recipient} > ${m.subject} — ${m.sender_full_name}:\n    ${m.content.split('\n').join('\n    ')}`);
  const say = async (email: string, text: string) => {
    const sent = fake.post(email, STREAMS.general, 'first responder', text);
    line(sent);
    const reply = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'first responder', { afterId: sent.id });
    line(reply);
    return reply;
  };

  const first = await say(w.ann.email, '!fr @**Ann Smith**');
  expect(first.content).toMatch(/is now the first responder/);
  const added = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('📞'), { afterId: first.id, timeoutMs: 30_000 });
  expect(added.content).toBe(`📞 Zabbix: added Ann Smith (Zabbix user \`${ANN_USER}\`) to **${FR_GROUP}**. Zabbix calls Ann Smith from now on.`);
  expect(await frGroupMembers()).toEqual([ANN_USER]);
  transcript.length = 0; // the transcript is the handover

  const request = await say(w.ann.email, '!handover @**Bob Jones**');
  expect(request.content).toContain(`@**Bob Jones|${w.bob.id}**, confirm with \`!handover accept\``);
  expect(await frGroupMembers()).toEqual([ANN_USER]);
  const confirmed = await say(w.bob.email, '!handover accept');
  expect(confirmed.content).toMatch(/^✅ Handover to @_\*\*Bob Jones\|\d+\*\* recorded and announced/);
  expect(confirmed.content).not.toContain('Zabbix calling');
  const [announcement] = fake.messagesIn(STREAMS.organisational, 'First responder handover');
  expect(announcement!.content).toContain('(started by Ann Smith, confirmed by Bob Jones)');
  expect(announcement!.content).toContain(`📞 Zabbix: moving Bob Jones into the user group **${FR_GROUP}** and Ann Smith out; what changed follows in this topic.`);
  line(announcement!);
  const moved = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.organisational && m.content.startsWith('📞'), { afterId: announcement!.id, timeoutMs: 30_000 });
  line(moved);
  expect(moved.content).toBe(`📞 Zabbix: added Bob Jones (Zabbix user \`${BOB_USER}\`) to **${FR_GROUP}**; took Ann Smith (Zabbix user \`${ANN_USER}\`) out. Zabbix calls Bob Jones from now on.`);

  const members = await until('Zabbix\'s FR group holds Bob and not Ann', async () => {
    const m = await frGroupMembers();
    return m.includes(BOB_USER) && !m.includes(ANN_USER) ? m : undefined;
  });
  expect(members).toEqual([BOB_USER]);
  process.stdout.write(`\n--- handover transcript (real Zabbix ${env.url}) ---\n${transcript.join('\n')}\n--- Zabbix user group "${FR_GROUP}" now: ${members.join(', ')} ---\n`);
});
