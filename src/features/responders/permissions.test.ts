/**
 * Acting over the first responder's head (red-team finding 10): `!handover … force` and
 * `!handling` need the acting first responder or a member of `firstResponder.group`; a plain
 * `!handover @**X**` still works for the acting and the upcoming first responder.
 */
import { inProcessBot, type InProcessBot } from '../../../test/support/harness';

const EVE = { id: 4, email: 'eve@example.org', fullName: 'Eve Adams' };
const GENERAL = { stream: 'SRE - General', topic: 'fr' };

let bot: InProcessBot;

async function start(config: Record<string, unknown> = {}, groups: Record<string, number[]> = {}): Promise<void> {
  bot = await inProcessBot({ config });
  bot.api.users_.push({ ...EVE, isBot: false });
  bot.api.groups = groups;
  // Ann is the first responder; one critical incident is unacknowledged.
  await bot.say('!fr @**Ann Smith**', { ...GENERAL, as: 'ann' });
  await bot.alert({ eventId: '1', trigger: 'HTTPS is down on web-01.example.org' });
  bot.replies();
}

/** What the bot answered since the last look (the handover announcement in Organisational left out). */
const answer = () => bot.replies().filter((r) => r.stream !== 'Organisational').map((r) => r.content);
const announced = () => bot.all().filter((r) => r.stream === 'Organisational');

describe('no firstResponder.group', () => {
  test('`!handover @**Self** force` by someone else than the acting FR is refused; the FR stays', async () => {
    await start();
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'bob' });
    expect(answer()).toEqual([expect.stringMatching(/^Only the acting first responder \(@_\*\*Ann Smith\|2\*\*\) may force a handover/)]);
    expect(announced()).toEqual([]);
    await bot.say('!fr', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^👤 The first responder is @_\*\*Ann Smith\|2\*\*/);
  });

  test('the acting FR may force it', async () => {
    await start();
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\* recorded/);
    expect(announced()[0]!.content).toContain('⚠️ Forced: 1 incident(s) were still unacknowledged at handover.');
  });

  test('without force, the acting and the upcoming FR may start the handover as before; the other side confirms (issue 19)', async () => {
    await start();
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^⏸️ The handover to @_\*\*Bob Jones\|3\*\* waits/);
    await bot.say('!ack on it', { as: 'ann' });
    bot.replies();
    await bot.say('!handover @**Bob Jones**', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^🤝 \*\*Handover requested\*\* \(request #1\) by Bob Jones/);
    await bot.say('!handover confirm', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\*/);
    await bot.say('!handover @**Ann Smith**', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^🤝 \*\*Handover requested\*\* \(request #2\) by Bob Jones/);
    await bot.say('!handover accept', { ...GENERAL, as: 'ann' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Ann Smith\|2\*\*/);
  });

  test('`!handling` is for the acting FR only', async () => {
    await start();
    await bot.say('!handling', { as: 'bob' });
    expect(answer()).toEqual([expect.stringMatching(/^Only the acting first responder \(@_\*\*Ann Smith\|2\*\*\) may take over a topic with `!handling`/)]);
    await bot.say('!handling', { as: 'ann' });
    expect(answer()[0]).toMatch(/^🛠️ Ann Smith handles this topic/);
  });

  test('with nobody first responder yet, anyone may `!handling` (anyone may make themselves FR)', async () => {
    bot = await inProcessBot();
    await bot.alert({ eventId: '1' });
    bot.replies();
    await bot.say('!handling', { as: 'bob' });
    expect(answer()[0]).toMatch(/^🛠️ Bob Jones handles this topic/);
  });
});

describe('with firstResponder.group', () => {
  test('members of the group may `!handling` and force; others may not', async () => {
    await start({ firstResponder: { group: 'sre-first-responders' } }, { 'sre-first-responders': [2, 3] });
    await bot.say('!handling', { as: EVE });
    expect(answer()).toEqual([expect.stringMatching(/^Only the acting first responder \(@_\*\*Ann Smith\|2\*\*\) or members of the user group \*\*sre-first-responders\*\* may take over a topic with `!handling`\.$/)]);
    await bot.say('!handling', { as: 'bob' });
    expect(answer()[0]).toMatch(/^🛠️ Bob Jones handles this topic/);
    await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'bob' });
    expect(answer()[0]).toMatch(/^✅ Handover to @_\*\*Bob Jones\|3\*\*/);
  });

  test('a group missing in Zulip fails closed for everyone but the acting FR', async () => {
    await start({ firstResponder: { group: 'sre-first-responders' } }, { 'sre-first-responders': [2, 3] });
    bot.api.groups = {};
    await bot.say('!handling', { as: 'bob' });
    expect(answer()[0]).toMatch(/^Only the acting first responder .* or members of the user group \*\*sre-first-responders\*\*/);
    await bot.say('!handling', { as: 'ann' });
    expect(answer()[0]).toMatch(/^🛠️ Ann Smith handles this topic/);
  });
});
