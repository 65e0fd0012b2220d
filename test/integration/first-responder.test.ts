/**
 * First-responder handover end to end against the fake Zulip.
 */
import type { FakeZulip, FakeMessage } from '../support/fake-zulip';
import { type BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({ sla: { critical: { remindEvery: '2s', resolveWithin: '16h' } } }));
});

afterEach(() => stopWorld({ fake, bot }));

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;

async function say(email: string, stream: string, topic: string, text: string): Promise<FakeMessage> {
  const sent = fake.post(email, stream, topic, text);
  return fake.waitForMessage((m) => fromBot(m) && m.display_recipient === stream && m.subject === topic, { afterId: sent.id });
}

test('an unacknowledged incident blocks the handover; after !ack it completes, is announced, and reminders mention the new FR', async () => {
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!fr')).content).toMatch(/^No first responder is set/);
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!fr @**Ann Smith**')).content).toBe(`👤 @_**Ann Smith|${w.ann.id}** is now the first responder (first-time setup by Ann Smith).`);
  expect((await say(w.bob.email, STREAMS.general, 'fr', '!fr @**Bob Jones**')).content).toContain('use `!handover @**Bob Jones**`');

  fake.post(w.zabbix.email, STREAMS.critical, 'web-01', alertPost({ host: 'web-01', eventId: '6001', trigger: 'HTTPS is down on web-01' }));
  const firstReminder = await fake.waitForMessage((m) => fromBot(m) && m.content.includes('⏰'));
  expect(firstReminder.content).toContain(`@**Ann Smith|${w.ann.id}** (first responder)`);

  const blocked = await say(w.bob.email, STREAMS.general, 'fr', '!handover @**Bob Jones**');
  expect(blocked.content).toContain('⏸️ The handover to @_**Bob Jones|');
  expect(blocked.content).toContain('**HTTPS is down on web-01** on web-01 — **unacknowledged**');
  expect(fake.messagesIn(STREAMS.organisational)).toEqual([]);

  await say(w.ann.email, STREAMS.critical, 'web-01', '!ack on it');
  // Issue 19: two-party. Bob's request waits for Ann (mentioned for real), who confirms and names
  // the incident she hands over; only then is it complete and announced.
  const requested = await say(w.bob.email, STREAMS.general, 'fr', '!handover @**Bob Jones**');
  expect(requested.content).toContain(`@**Ann Smith|${w.ann.id}**, confirm with \`!handover confirm\``);
  expect(fake.messagesIn(STREAMS.organisational)).toEqual([]);
  const done = await say(w.ann.email, STREAMS.general, 'fr', '!handover confirm web-01');
  expect(done.content).toContain('✅ Handover to @_**Bob Jones|');
  expect(done.content).toContain('IPA `sla-first-responder` group');
  const [announcement] = fake.messagesIn(STREAMS.organisational, 'First responder handover');
  expect(announcement!.content).toContain(`🔄 **First responder handover**: @_**Ann Smith|${w.ann.id}** → @**Bob Jones|${w.bob.id}** is now the acting first responder (started by Bob Jones, confirmed by Ann Smith).`);
  expect(announcement!.content).toContain('acknowledged by Ann Smith');
  expect(announcement!.content).toContain('**Handed over by Ann Smith**');
  process.stdout.write(`\n--- announcement (${STREAMS.organisational} > First responder handover) ---\n${announcement!.content}\n`);

  expect((await say(w.ann.email, STREAMS.general, 'fr', '!fr')).content).toMatch(new RegExp(`^👤 The first responder is @_\\*\\*Bob Jones\\|${w.bob.id}\\*\\*, since `));

  const second = fake.post(w.zabbix.email, STREAMS.critical, 'db-01', alertPost({ host: 'db-01', eventId: '6002', trigger: 'PostgreSQL is down' }));
  const reminder = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'db-01' && m.content.includes('⏰'), { afterId: second.id });
  expect(reminder.content).toContain(`@**Bob Jones|${w.bob.id}** (first responder)`);

  // !handling needs the acting first responder (or firstResponder.group): Ann is refused; Bob's
  // !handling redirects the topic's reminders to the handler.
  expect((await say(w.ann.email, STREAMS.critical, 'db-01', '!handling')).content).toMatch(/acting first responder/);
  const handling = await say(w.bob.email, STREAMS.critical, 'db-01', '!handling');
  expect(handling.content).toMatch(/^🛠️ Bob Jones handles this topic; reminders here mention them until /);
  const redirected = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'db-01' && m.content.includes('⏰'), { afterId: handling.id });
  expect(redirected.content).toContain(`@**Bob Jones|${w.bob.id}** (handling this)`);
  const released = await say(w.bob.email, STREAMS.critical, 'db-01', '!release');
  expect(released.content).toContain('no longer handles this topic');
  const back = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'db-01' && m.content.includes('⏰'), { afterId: released.id });
  expect(back.content).toContain(`@**Bob Jones|${w.bob.id}** (first responder)`);

  const hist = await say(w.ann.email, STREAMS.general, 'fr', '!fr history');
  expect(hist.content.split('\n')).toHaveLength(3);
});

test('only the acting or the upcoming FR may hand over; unknown users and force', async () => {
  await say(w.ann.email, STREAMS.general, 'fr', '!fr @**Ann Smith**');
  const eve = fake.addUser({ email: 'eve@example.org', fullName: 'Eve Adams' });
  for (const s of Object.values(STREAMS)) fake.subscribe(eve.email, s);
  expect((await say(eve.email, STREAMS.general, 'fr', '!handover @**Bob Jones**')).content).toContain('Only the acting first responder');
  expect((await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Nobody Here**')).content).toBe('No Zulip user is called Nobody Here.\nUsage: `!handover @**Name** [incidents] [force] | accept | confirm [incidents] | cancel`');
  fake.post(w.zabbix.email, STREAMS.critical, 'web-02', alertPost({ host: 'web-02', eventId: '6101' }));
  await fake.waitForMessage((m) => fromBot(m) && m.content.includes('⏰'));
  const forced = await say(w.ann.email, STREAMS.general, 'fr', '!handover @**Eve Adams** force');
  expect(forced.content).toContain('✅ Handover to');
  expect(fake.messagesIn(STREAMS.organisational)[0]!.content).toContain('⚠️ Forced: 1 incident(s) were still unacknowledged at handover.');
});
