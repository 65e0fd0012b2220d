/**
 * Who may do what: direct messages get read-only commands only; first-responder changes can be
 * limited to a Zulip user group; alerts count only from alerts.senders.
 */
import type { FakeZulip, FakeDirectMessage } from '../support/fake-zulip';
import { type BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({ firstResponder: { group: 'sre-first-responders' } }, { prepare: (world) => world.fake.addUserGroup('sre-first-responders', [world.ann.email]) }));
});

afterEach(() => stopWorld({ fake, bot }));

async function dm(text: string): Promise<FakeDirectMessage> {
  const sent = fake.postDirect(w.bob.email, [w.bot.email], text);
  await fake.waitFor(() => fake.directMessages.some((m) => m.id > sent.id && m.sender_email === w.bot.email), 10_000, 'a direct answer');
  return fake.directMessages.find((m) => m.id > sent.id && m.sender_email === w.bot.email)!;
}

test('direct messages: read-only commands are answered privately; state changes are refused', async () => {
  const p = fake.post(w.zabbix.email, STREAMS.critical, 'web-01', alertPost({ host: 'web-01', eventId: '1', trigger: 'HTTPS is down' }));
  await bot!.waitForLog((l) => l.messageId === p.id);
  const ongoing = await dm('!ongoing');
  expect(ongoing.display_recipient.map((r) => r.email).sort()).toEqual([w.bob.email, w.bot.email].sort());
  expect(ongoing.content).toContain('HTTPS is down');
  expect((await dm('!fr')).content).toMatch(/^No first responder is set/);
  expect((await dm('!ack on it')).content).toMatch(/^`!ack …` changes state: type it in an SRE stream/);
  expect((await dm('!fr @**Bob Jones**')).content).toMatch(/changes state/);
  expect((await dm('hello?')).content).toMatch(/^I answer read-only commands here/);
  const q = fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  const answer = await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === 'bot', { afterId: q.id });
  expect(answer.content).toContain('**no**'); // the DM !ack did nothing
});

test('first-responder changes are limited to the configured user group', async () => {
  const b = fake.post(w.bob.email, STREAMS.general, 'fr', '!fr @**Bob Jones**');
  expect((await fake.waitForMessage((m) => m.sender_email === w.bot.email, { afterId: b.id })).content).toBe('Only members of the user group **sre-first-responders** may change the first responder.');
  const a = fake.post(w.ann.email, STREAMS.general, 'fr', '!fr @**Ann Smith**');
  expect((await fake.waitForMessage((m) => m.sender_email === w.bot.email, { afterId: a.id })).content).toMatch(/is now the first responder/);
  const h = fake.post(w.bob.email, STREAMS.general, 'fr', '!handover @**Bob Jones**');
  expect((await fake.waitForMessage((m) => m.sender_email === w.bot.email, { afterId: h.id })).content).toMatch(/^Only members of the user group/);
});

test('commands outside the SRE streams are not answered', async () => {
  const r = fake.post(w.ann.email, 'random', 'x', '!ongoing');
  const q = fake.post(w.ann.email, STREAMS.general, 'bot', '!help');
  await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === 'bot', { afterId: q.id });
  expect(fake.messagesIn('random').filter((m) => m.id > r.id)).toEqual([]);
});
