/**
 * The non-critical workflow end to end against the fake Zulip: 🔁 on repeats whose project ID is
 * known, the checklist once per topic and trigger, IDs remembered across a restart.
 */
import type { FakeZulip, FakeMessage } from '../support/fake-zulip';
import { type BotProcess, restartBot, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({ timezone: 'UTC' }));
});

afterEach(() => stopWorld({ fake, bot }));

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function disk(host: string, eventId: string): FakeMessage {
  return fake.post(w.zabbix.email, STREAMS.nonCritical, host, alertPost({ host, eventId, triggerId: '300', severity: 'Warning', trigger: 'Free disk space is less than 20% on /var', item: 'Free disk space on /var is 17 %' }));
}

test('ID posted, then a repeat alert: 🔁 on the new alert and no message; restart keeps the ID', async () => {
  const first = disk('db-01.example.org', '9001');
  const checklist = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('📋'), { afterId: first.id });
  expect(checklist.subject).toBe('db-01.example.org');
  fake.post(w.ann.email, STREAMS.nonCritical, 'db-01.example.org', 'Milestone exists, tracked in lynx as sre2611dbx');
  // The topic's status card (posted on the next tick; later changes edit it).
  await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('🚦'), { afterId: first.id });
  await sleep(300);
  const botCountBefore = fake.messagesBy(w.bot.email).length;

  const repeat = disk('db-01.example.org', '9002');
  await fake.waitFor(() => (fake.messages().find((m) => m.id === repeat.id)?.reactions.length ?? 0) > 0, 10_000, 'repeat reaction');
  const reacted = fake.messages().find((m) => m.id === repeat.id)!;
  expect(reacted.reactions).toEqual([expect.objectContaining({ emoji_name: 'repeat', emoji_code: '1f501', user_id: w.bot.id })]);

  // Restart in between: the recorded ID survives.
  bot = await restartBot(bot, w.configPath);
  const again = disk('db-01.example.org', '9003');
  await fake.waitFor(() => (fake.messages().find((m) => m.id === again.id)?.reactions.length ?? 0) > 0, 10_000, 'repeat reaction after restart');
  await sleep(300);
  expect(fake.messagesBy(w.bot.email)).toHaveLength(botCountBefore);
  expect(fake.messages().find((m) => m.id === first.id)!.reactions).toEqual([]);
});

test('a topic with no ID gets the checklist once, not again on the next repeat, also after a restart', async () => {
  const a = disk('db-02.example.org', '9101');
  const checklist = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('📋'), { afterId: a.id });
  const year = new Date().getUTCFullYear();
  const month = String(new Date().getUTCMonth() + 1).padStart(2, '0');
  expect(checklist.content).toContain(`Kimai activity: \`${year}-${month} Free disk space is less than 20% on /var on db-02.example.org\``);
  expect(checklist.content).toContain(`ID \`SRE${String(year).slice(2)}${month}DBE\``);
  expect(checklist.content).toContain(`Delft Solutions Hosting Incident response work ${year}-${month} Free disk space`);
  expect(checklist.content).toMatch(/SLA: acknowledge by .* \(9h 00m\), resolve by .* \(1w 0d\)/);
  const b = disk('db-02.example.org', '9101');
  await bot!.waitForLog((l) => l.messageId === b.id);
  bot = await restartBot(bot, w.configPath);
  const c = disk('db-02.example.org', '9102');
  await bot.waitForLog((l) => l.messageId === c.id);
  await sleep(500);
  expect(fake.messagesBy(w.bot.email).filter((m) => m.content.startsWith('📋'))).toHaveLength(1);
  expect(fake.messages().find((m) => m.id === c.id)!.reactions).toEqual([]);
  // A critical alert gets no checklist.
  const crit = fake.post(w.zabbix.email, STREAMS.critical, 'db-02.example.org', alertPost({ host: 'db-02.example.org', eventId: '9103', severity: 'High' }));
  await bot.waitForLog((l) => l.messageId === crit.id);
  await sleep(300);
  expect(fake.messagesBy(w.bot.email).filter((m) => m.content.startsWith('📋'))).toHaveLength(1);
});

test('!names and !project', async () => {
  const a = disk('web-05.example.org', '9201');
  await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('📋'), { afterId: a.id });
  const n = fake.post(w.ann.email, STREAMS.nonCritical, 'web-05.example.org', '!names dsk');
  const names = await fake.waitForMessage((m) => fromBot(m) && m.content.startsWith('Names for'), { afterId: n.id });
  expect(names.content).toMatch(/Lynx project ID: `SRE\d{4}DSK`/);
  const bad = fake.post(w.ann.email, STREAMS.nonCritical, 'web-05.example.org', '!project 12345');
  expect((await fake.waitForMessage((m) => fromBot(m) && m.id > bad.id)).content).toContain('Usage: `!project SRE<YYMM><XXX>`');
  const p = fake.post(w.ann.email, STREAMS.nonCritical, 'web-05.example.org', '!project SRE2611WEB');
  expect((await fake.waitForMessage((m) => fromBot(m) && m.id > p.id)).content).toBe('📌 Recorded Lynx project `SRE2611WEB` for this topic; repeats of this alert get 🔁 instead of a new report.');
  const r = disk('web-05.example.org', '9202');
  await fake.waitFor(() => (fake.messages().find((m) => m.id === r.id)?.reactions.length ?? 0) > 0, 10_000, 'repeat reaction');
});
