/**
 * Beyond the checklist, end to end: external reports, linked resolutions, postmortem drafts, SLA reports.
 */
import type { FakeZulip, FakeMessage } from '../support/fake-zulip';
import { BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({ timezone: 'UTC', sla: { critical: { remindEvery: '2s', resolveWithin: '16h' } } }));
});

afterEach(() => stopWorld({ fake, bot }));

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an external report becomes a tracked incident in its own topic, with reminders, !ack and !resolve', async () => {
  const cmd = fake.post(w.ann.email, STREAMS.general, 'customer mail', '!incident critical shop.example.com Customer reports checkout returns 502');
  const opened = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'shop.example.com', { afterId: cmd.id });
  expect(opened.display_recipient).toBe(STREAMS.critical);
  expect(opened.content).toContain('📣 **Reported incident** (critical) on **shop.example.com**: Customer reports checkout returns 502');
  expect(opened.content).toContain('Ann Smith took responsibility');
  const pointer = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'customer mail', { afterId: cmd.id });
  expect(pointer.content).toContain('#**SRE # Critical>shop.example.com**');
  const reminder = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'shop.example.com' && m.content.includes('⏰'), { afterId: opened.id, timeoutMs: 8_000 });
  expect(reminder.content).toContain('Customer reports checkout returns 502');
  const ack = fake.post(w.ann.email, STREAMS.critical, 'shop.example.com', '!ack');
  await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('✅ Acknowledged'), { afterId: ack.id });
  const res = fake.post(w.ann.email, STREAMS.critical, 'shop.example.com', '!resolve rolled back the deploy');
  expect((await fake.waitForMessage((m) => fromBot(m) && m.id > res.id)).content).toBe('✅ Resolved by Ann Smith: Customer reports checkout returns 502. Note: rolled back the deploy');
  // A topic opened by hand is adopted with !track.
  fake.post(w.bob.email, STREAMS.nonCritical, 'backup cron mail', 'Cron says the nightly backup failed');
  const t = fake.post(w.bob.email, STREAMS.nonCritical, 'backup cron mail', '!track non-critical');
  expect((await fake.waitForMessage((m) => fromBot(m) && m.id > t.id)).content).toMatch(/^📌 Tracking this topic as a non-critical incident/);
  const q = fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  const ongoing = (await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: q.id })).content;
  expect(ongoing).toContain('backup cron mail');
  expect(ongoing).not.toContain('shop.example.com');
});

test('!resolved-by resolves with a link and posts in both topics; !postmortem renders the resolved incident', async () => {
  const main = fake.post(w.zabbix.email, STREAMS.critical, 'hv-03', alertPost({ host: 'hv-03', eventId: '7001', severity: 'Disaster', trigger: 'Hypervisor hv-03 is unreachable' }));
  const vm = fake.post(w.zabbix.email, STREAMS.critical, 'vm-12', alertPost({ host: 'vm-12', eventId: '7002', trigger: 'VM vm-12 is down' }));
  await bot!.waitForLog((l) => l.messageId === vm.id);
  fake.post(w.bob.email, STREAMS.critical, 'hv-03', 'IPMI shows a kernel panic, rebooting hv-03');
  const ack = fake.post(w.ann.email, STREAMS.critical, 'hv-03', '!ack');
  await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('✅ Acknowledged'), { afterId: ack.id });
  await sleep(1100);
  const ok = fake.post(w.zabbix.email, STREAMS.critical, 'hv-03', alertPost({ status: 'OK', host: 'hv-03', eventId: '7001', trigger: 'Hypervisor hv-03 is unreachable' }));
  await bot!.waitForLog((l) => l.messageId === ok.id);
  const rb = fake.post(w.ann.email, STREAMS.critical, 'vm-12', '!resolved-by #**SRE # Critical>hv-03**');
  const here = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'vm-12' && m.content.startsWith('🔗'), { afterId: rb.id });
  expect(here.content).toContain('Resolved by the work in #**SRE # Critical>hv-03**');
  const there = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'hv-03' && m.content.startsWith('🔗'), { afterId: rb.id });
  expect(there.content).toContain('also resolved #**SRE # Critical>vm-12**: VM vm-12 is down');

  const pm = fake.post(w.ann.email, STREAMS.critical, 'hv-03', '!postmortem');
  const draft = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('# 🚨'), { afterId: pm.id });
  const seconds = Math.round(ok.timestamp - main.timestamp);
  expect(draft.content).toContain(`(${seconds}s) |`);
  expect(draft.content).toMatch(/\| Responders \| @_\*\*Bob Jones\*\* @_\*\*Ann Smith\*\* \|/);
  expect(draft.content).toContain('| Severity | Critical (Disaster) |');
  expect(draft.content).toContain('Bob Jones: IPMI shows a kernel panic, rebooting hv-03');
  expect(draft.content).toContain('acknowledged by Ann Smith');
  expect(draft.content).toContain('### ✅ Follow-up tasks');
  process.stdout.write(`\n--- postmortem draft ---\n${draft.content}\n`);

  const s = fake.post(w.ann.email, STREAMS.general, 'bot', '!sla week');
  const report = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: s.id });
  expect(report.content).toMatch(/^📊 \*\*SLA report, last 7 days\*\*: .* — 2 incidents, 0 SLA breaches/);
  expect(report.content).toContain('| Critical | 2 | 0 |');
  process.stdout.write(`\n--- SLA report ---\n${report.content}\n`);
});

test('the weekly SLA report is posted to the general stream on its cron schedule', async () => {
  await bot!.kill('SIGKILL');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a one-off read in this test
  const cfg = JSON.parse(require('node:fs').readFileSync(w.configPath, 'utf8')) as Record<string, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a one-off write in this test
  require('node:fs').writeFileSync(w.configPath, JSON.stringify({ ...cfg, reports: { weeklyCron: '*/2 * * * * *', topic: 'Weekly SLA' } }));
  bot = BotProcess.start(w.configPath);
  await bot.live();
  const report = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.general && m.subject === 'Weekly SLA', { timeoutMs: 10_000 });
  expect(report.content).toMatch(/^📊 \*\*SLA report, last 7 days\*\*/);
});
