/**
 * Help at 3 a.m., end to end against the fake Zulip (the built bot as a process): each default
 * runbook hint appears once for its alert and not for others; the client prompt for critical
 * incidents except the process's exceptions; several hosts at once in one summary edited in place; `!recheck`
 * without Zabbix; a bad rule stops the start with exit code 2. Prints the messages as they render.
 */
import { writeFileSync } from 'node:fs';
import { FakeZulip, type FakeMessage } from '../support/fake-zulip';
import { BotProcess, setUpWorld, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;
const rendered: string[] = [];

afterEach(async () => {
  await stopWorld({ fake, bot });
  bot = undefined;
});

afterAll(() => {
  if (rendered.length > 0) process.stdout.write(`\n--- messages as rendered ---\n${rendered.join('\n\n')}\n`);
});

async function startBot(config: Record<string, unknown> = {}): Promise<void> {
  ({ fake, w, bot } = await startWorld(config));
}

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DAY = 86_400_000;
/** The latest Sunday 11:00 UTC (Sunday in Amsterdam too) before now, in seconds. */
function lastSunday(): number {
  const d = new Date();
  d.setUTCHours(11, 0, 0, 0);
  while (d.getUTCDay() !== 0 || d.getTime() > Date.now()) d.setTime(d.getTime() - DAY);
  return d.getTime() / 1000;
}

function critical(host: string, eventId: string, triggerId: string, trigger: string, timestamp?: number): FakeMessage {
  return fake.post(w.zabbix.email, STREAMS.critical, host, alertPost({ host, eventId, triggerId, trigger, severity: 'High' }), timestamp !== undefined ? { timestamp } : {});
}

test('each default hint appears once, for its alert only; the client prompt is silent for the exceptions', async () => {
  await startBot({ runbook: { storm: { hosts: 50 } } });
  const sunday = lastSunday();
  const monday = sunday + DAY / 1000;
  const posts = [
    critical('ssh-01.example.org', '8101', '501', 'SSH service is down on ssh-01.example.org'),
    critical('ssh-01.example.org', '8101', '501', 'SSH service is down on ssh-01.example.org'), // Zabbix repeats it
    critical('backup-01.example.org', '8102', '502', 'No backup for 3 days'),
    critical('git.example.org', '8103', '503', 'HTTPS is down on git.example.org', sunday),
    critical('git2.example.org', '8104', '504', 'HTTPS is down on git2.example.org', monday),
    critical('web-01.example.org', '8105', '505', 'HTTPS is down on web-01.example.org', sunday),
    critical('shop.example.org', '8106', '506', 'SSL certificate is expiring in < 24 hours'),
    critical('ssh-01.example.org', '8107', '501', 'SSH service is down on ssh-01.example.org'), // flapped: new event, same trigger
  ];
  const last = posts.at(-1)!;
  await bot!.waitForLog((l) => l.messageId === last.id, 15_000);
  await sleep(1_500);
  const said = fake.messagesBy(w.bot.email).filter((m) => m.content.startsWith('💡') || m.content.startsWith('📣'));
  const where = (needle: string) => said.filter((m) => m.content.includes(needle)).map((m) => m.subject);

  expect(where('**Runbook — SSH service down:**')).toEqual(['ssh-01.example.org']);
  expect(where('**Runbook — No backup:**')).toEqual(['backup-01.example.org']);
  expect(where('**Runbook — GitLab update (Sunday):**')).toEqual(['git.example.org']);
  expect(where('💡')).toHaveLength(3);
  // Clients: asked for HTTPS down (git on Sunday, git2, web-01); not for SSH, backups, certificate < 24 h.
  expect(where('📣 **Clients affected?**').sort()).toEqual(['git.example.org', 'git2.example.org', 'web-01.example.org']);
  // One message per topic: the GitLab hint and the client prompt together.
  expect(said.filter((m) => m.subject === 'git.example.org')).toHaveLength(1);
  expect(said.find((m) => m.subject === 'git.example.org')!.content).toMatch(/^💡 \*\*Runbook — GitLab update \(Sunday\):\*\*[^\n]+\n\n📣 \*\*Clients affected\?\*\*/);
  // And the first thing the bot says in each of these topics.
  for (const topic of ['ssh-01.example.org', 'backup-01.example.org', 'git.example.org', 'web-01.example.org']) {
    const first = fake.messagesBy(w.bot.email).find((m) => m.subject === topic);
    expect(first?.content.slice(0, 2)).toMatch(/💡|📣/u);
  }

  const sshHint = said.find((m) => m.subject === 'ssh-01.example.org')!;
  expect(sshHint.content).toContain(`\`journalctl -u ssh --since "2 hours ago" | grep 'MaxStartups throttling'\``);
  rendered.push(`[${sshHint.display_recipient} > ${sshHint.subject}] after "SSH service is down on ssh-01.example.org" (High):\n${sshHint.content}`);
  const gitHint = said.find((m) => m.subject === 'git.example.org')!;
  rendered.push(`[${gitHint.display_recipient} > ${gitHint.subject}] after "HTTPS is down on git.example.org" (High, on a Sunday):\n${gitHint.content}`);
  const backupHint = said.find((m) => m.subject === 'backup-01.example.org')!;
  rendered.push(`[${backupHint.display_recipient} > ${backupHint.subject}] after "No backup for 3 days" (High):\n${backupHint.content}`);
});

test('five hosts down at once: one summary in "Several hosts down", edited in place as a host joins; the hosts\' topics get no first messages', async () => {
  // Storm mode (issue 17): this test asserted the old notice — a second "More hosts in the same
  // storm (6 hosts now)" post and a client prompt in each host's topic. Now the storm is one
  // message edited in place, and its hosts' first messages are folded into it.
  await startBot({ runbook: { storm: { followUpEvery: '2s' } } });
  const hosts = ['hv-03', 'vm-11', 'vm-12', 'vm-13', 'vm-14'].map((h) => `${h}.example.org`);
  const posts = hosts.map((h, i) => critical(h, String(8200 + i), String(600 + i), i === 0 ? `${h} is unreachable by ICMP ping` : `HTTPS is down on ${h}`));
  await bot!.waitForLog((l) => l.messageId === posts.at(-1)!.id, 15_000);
  const announce = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'Several hosts down', { afterId: posts[0]!.id });
  expect(announce.display_recipient).toBe(STREAMS.critical);
  // Alerts arriving together are named together (the summary is made by the next one-second scheduler round).
  expect(announce.content).toMatch(/^🌩️ \*\*Storm: critical problems on 5 hosts\*\* since .* That is likely one shared cause/);
  expect(announce.content).toContain(`**Said here once instead of in each host's topic:**\n📣 **Clients affected?**`);
  for (const h of hosts) expect(announce.content).toContain(`- **${h}**: `);
  expect(announce.content).toContain('#**SRE # Critical>hv-03.example.org**');

  const late = critical('vm-15.example.org', '8210', '610', 'HTTPS is down on vm-15.example.org');
  await bot!.waitForLog((l) => l.messageId === late.id);
  await fake.waitFor(() => (fake.messages().find((m) => m.id === announce.id)?.content ?? '').includes('vm-15.example.org'), 10_000, 'the summary edited with the sixth host');
  const edited = fake.messages().find((m) => m.id === announce.id)!;
  expect(edited.content).toMatch(/^🌩️ \*\*Storm: critical problems on 6 hosts\*\*/);
  expect(edited.content).toContain('- **vm-15.example.org**: HTTPS is down on vm-15.example.org — #**SRE # Critical>vm-15.example.org**');
  await sleep(4_000);
  expect(fake.messagesBy(w.bot.email).filter((m) => m.subject === 'Several hosts down')).toHaveLength(1);
  // Each host's own topic got nothing: its client prompt is in the summary.
  for (const h of [...hosts, 'vm-15.example.org']) expect(fake.messagesBy(w.bot.email).filter((m) => m.subject === h)).toEqual([]);
  rendered.push(`[${announce.display_recipient} > ${announce.subject}] after five critical alerts within a second:\n${announce.content}`);
  rendered.push(`[${edited.display_recipient} > ${edited.subject}] the same message after a sixth host (edited in place):\n${edited.content}`);
});

test('!recheck without Zabbix says so plainly; the ✔ warning keeps the manual "Execute now"', async () => {
  await startBot();
  const p = critical('web-02.example.org', '8301', '701', 'HTTPS is down on web-02.example.org');
  await bot!.waitForLog((l) => l.messageId === p.id);
  const cmd = fake.post(w.ann.email, STREAMS.critical, 'web-02.example.org', '!recheck');
  const answer = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('`!recheck`'), { afterId: cmd.id });
  expect(answer.content).toMatch(/^`!recheck` needs the Zabbix API, and this bot has none configured \(`zabbix\.url` and `zabbix\.token`\)\. Do it by hand: .*\*\*Execute now\*\*/);
  fake.resolveTopic(STREAMS.critical, 'web-02.example.org', w.ann.email);
  const warn = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('⚠️ This topic was marked resolved'), { afterId: answer.id });
  expect(warn.content).toContain('(Zabbix "Execute now")');
  expect(warn.content).not.toContain('!recheck');
});

test('a bad rule stops the start: exit code 2, the key path and the rule named', async () => {
  fake = await FakeZulip.start();
  w = setUpWorld(fake, { runbook: { rules: [{ name: 'a', trigger: 'x', hint: 'h' }, { name: 'b', host: 'y', hint: 'h' }, { name: 'disk', trigger: 'disk (full', hint: 'h' }] } });
  const check = BotProcess.start(w.configPath, {}, ['--check-config']);
  expect(await check.exitCode()).toBe(2);
  expect(check.output).toEqual(['config error: runbook.rules.2.trigger: invalid regular expression: /disk (full/i: Unterminated group (rule "disk")']);
  writeFileSync(w.configPath, JSON.stringify({ zulip: { site: fake.url, email: w.bot.email, apiKey: w.bot.apiKey }, alerts: { senders: [w.zabbix.email] }, runbook: { storm: { topic: '' } } }));
  const run = BotProcess.start(w.configPath);
  expect(await run.exitCode()).toBe(2);
  expect(run.output).toEqual(['config error: runbook.storm.topic: expected a topic name, got an empty string']);
  expect(fake.messages()).toEqual([]);
});
