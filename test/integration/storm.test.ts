/**
 * Humans first, storms summarised (issue 17), end to end: the built bot as a process against the
 * fake Zulip, with production's rate limit (150 requests a minute). 300 critical alerts on 300
 * hosts within a second (a router failure), then `!ongoing` in SRE - General and `!ack` in one
 * host's topic: both answers are in Zulip within 2 s, and within the minute `SRE # Critical` gets
 * one storm summary (edited in place, never posted again) and the ack's answer — no per-topic
 * client prompts, status cards or other first messages. Reminders are an hour away (production's
 * critical `remindEvery`), so none falls in the minute.
 */
import type { FakeZulip, FakeMessage } from '../support/fake-zulip';
import { type BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(120_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

afterEach(() => stopWorld({ fake, bot }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOSTS = 300;
const host = (n: number) => `host-${String(n).padStart(3, '0')}.example.org`;
const TRIGGERS = ['Host is unreachable for 5 minutes', 'HTTPS service is down', 'PostgreSQL is not running'];

test('300 critical alerts on 300 hosts within a second: !ongoing and !ack answered within 2 s; one storm summary in SRE # Critical', async () => {
  ({ fake, w, bot } = await startWorld({ log: { level: 'info' }, rateLimit: { perMinute: 150 } }));
  const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
  const t0 = Date.now();
  // Ten bursts of 30, 100 ms apart: within a second, as Zabbix posts them when the router goes.
  const posts: FakeMessage[] = [];
  for (let burst = 0; burst < 10; burst++) {
    for (let k = 0; k < HOSTS / 10; k++) {
      const n = burst * (HOSTS / 10) + k + 1;
      const trigger = TRIGGERS[n % TRIGGERS.length] as string;
      posts.push(fake.post(w.zabbix.email, STREAMS.critical, host(n), alertPost({ host: host(n), eventId: String(70_000 + n), triggerId: String(80_000 + n), trigger, severity: n % 4 === 0 ? 'Disaster' : 'High' })));
    }
    await sleep(100);
  }
  expect(Date.now() - t0).toBeLessThan(1_500);

  // A person asks what is going on, and someone takes one host.
  const asked = Date.now();
  const ongoing = fake.post(w.ann.email, STREAMS.general, 'what is happening', '!ongoing');
  const ack = fake.post(w.bob.email, STREAMS.critical, host(42), '!ack looking at the router');
  const [ongoingReply, ackReply] = await Promise.all([
    fake.waitForMessage((m) => fromBot(m) && m.subject === 'what is happening', { afterId: ongoing.id, timeoutMs: 2_000 }),
    fake.waitForMessage((m) => fromBot(m) && m.subject === host(42) && m.content.startsWith('✅'), { afterId: ack.id, timeoutMs: 2_000 }),
  ]);
  const answeredIn = Date.now() - asked;
  expect(answeredIn).toBeLessThan(2_000);
  expect(ongoingReply.content).toMatch(/Ongoing incidents: 300\b/);
  expect(ackReply.content).toMatch(/^✅ Acknowledged by Bob Jones: Host is unreachable for 5 minutes \(event 70042\)\. Note: looking at the router/);
  await bot!.waitForLog((l) => l.messageId === posts.at(-1)!.id, 10_000);

  // The rest of the minute after the first alert.
  await sleep(Math.max(0, 60_000 - (Date.now() - t0)));
  const inCritical = fake.messagesBy(w.bot.email).filter((m) => m.display_recipient === STREAMS.critical);
  const summaries = inCritical.filter((m) => m.subject === 'Several hosts down');
  expect(summaries).toHaveLength(1);
  expect(inCritical.map((m) => m.subject)).toEqual(expect.arrayContaining(['Several hosts down', host(42)]));
  expect(inCritical.filter((m) => m.subject !== 'Several hosts down').map((m) => m.content.slice(0, 30))).toEqual([ackReply.content.slice(0, 30)]);
  const summary = fake.messages().find((m) => m.id === summaries[0]!.id)!;
  expect(summary.content).toMatch(/^🌩️ \*\*Storm: critical problems on 300 hosts\*\* since .* — 300 open, 0 resolved\./);
  expect(summary.content).toContain("**Said here once instead of in each host's topic:**\n📣 **Clients affected?**");
  expect(summary.content.length).toBeLessThan(10_000);
  expect(summary.content).toMatch(/…and \d+ more hosts \(\d+ open, 0 resolved\): `!ongoing` lists every open incident\./);
  const edits = fake.editsOf(summary.id).length;
  process.stdout.write(
    `\n--- storm: 300 critical alerts in ${posts.length} posts; !ongoing and !ack answered within ${answeredIn} ms; ` +
      `in SRE # Critical within a minute: ${inCritical.length} bot messages (the summary, edited ${edits} times, and the ack's answer) ---\n`,
  );
});
