/**
 * Names from outside the bot (red-team finding 9), through the whole app in-process: a topic
 * named `db @**all** outage` never puts a live mention into `!ongoing`, the handover
 * announcement, `!incident` or `!resolved-by`; `!resolved-by` posts only into SRE-stream topics.
 */
import { inProcessBot, type InProcessBot } from '../../../test/support/harness';

const HOSTILE = 'db @**all** outage';
const CRITICAL = 'SRE # Critical';
const GENERAL = { stream: 'SRE - General', topic: 'bot' };

let bot: InProcessBot;

/** No live mention of anyone (silent `@_**…**` ones may stay), no control or bidi characters. */
function expectHarmless(text: string): void {
  expect(text).not.toMatch(/@\*/);
  expect(text).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
}

beforeEach(async () => {
  bot = await inProcessBot();
  await bot.alert({ host: 'db-01.example.org', topic: HOSTILE, eventId: '1', trigger: 'PostgreSQL is down \u202Eon db-01\u0000' });
  bot.replies();
});

test('!ongoing: no mention, and the topic link still opens the topic', async () => {
  await bot.say('!ongoing', GENERAL);
  const [reply] = bot.replies();
  expectHarmless(reply!.content);
  expect(reply!.content).toContain('| PostgreSQL is down on db-01 |');
  expect(reply!.content).toContain('(#narrow/stream/SRE.20.23.20Critical/topic/db.20.40.2A.2Aall.2A.2A.20outage)');
});

test('the handover announcement', async () => {
  await bot.say('!fr @**Ann Smith**', GENERAL);
  await bot.say('!handover @**Bob Jones** force', { ...GENERAL, as: 'ann' });
  const announcement = bot.replies().find((r) => r.stream === 'Organisational')!;
  expect(announcement.content).toContain('**unacknowledged**');
  expectHarmless(announcement.content.replace(/@\*\*Bob Jones\|3\*\*/, '')); // the new FR is mentioned on purpose
  expect(announcement.content).toContain('/topic/db.20.40.2A.2Aall.2A.2A.20outage)');
});

test('!incident with a hostile host name: the topic it opens is linked without a mention', async () => {
  await bot.say('!incident critical @**all** customers report checkout errors @*sre*', GENERAL);
  const out = bot.replies();
  expect(out.map((r) => [r.stream, r.topic])).toEqual([
    [CRITICAL, '@**all**'],
    [GENERAL.stream, GENERAL.topic],
  ]);
  for (const r of out) expectHarmless(r.content);
  expect(out[1]!.content).toMatch(/^📣 Tracking it in \[#SRE # Critical > @\\\*\\\*all\\\*\\\*\]\(#narrow\/stream\/SRE\.20\.23\.20Critical\/topic\/\.40\.2A\.2Aall\.2A\.2A\) \(/);
});

test('!resolved-by: a link to the hostile topic (as a Zulip URL) is answered without a mention in both topics', async () => {
  await bot.alert({ host: 'web-01.example.org', eventId: '2', trigger: 'HTTPS is down on web-01' });
  bot.replies();
  await bot.say('!resolved-by https://chat.example.org/#narrow/channel/1-SRE-.23-Critical/topic/db.20.40.2A.2Aall.2A.2A.20outage');
  const out = bot.replies();
  expect(out.map((r) => r.topic).sort()).toEqual([HOSTILE, 'web-01.example.org']);
  for (const r of out) expectHarmless(r.content);
  expect(out.find((r) => r.topic === 'web-01.example.org')!.content).toMatch(/^🔗 Resolved by the work in \[#SRE # Critical > db @\\\*\\\*all\\\*\\\* outage\]\(#narrow\/stream\/SRE\.20\.23\.20Critical\/topic\/db\.20\.40\.2A\.2Aall\.2A\.2A\.20outage\)/);
});

test('!resolved-by posts only into topics of the SRE streams: another stream is refused, nothing is resolved or posted', async () => {
  await bot.say('!resolved-by #**Organisational>First responder handover**');
  expect(bot.replies()).toEqual([
    { stream: CRITICAL, topic: 'web-01.example.org', content: 'I only link topics of the SRE streams (**SRE # Critical**, **SRE ## Non-critical**, **SRE ### Informational**, **SRE - General**); **Organisational** is not one of them.' },
  ]);
  // The same through a link with the stream's id (5 is Organisational here).
  await bot.say('!resolved-by https://chat.example.org/#narrow/channel/5-Organisational/topic/First.20responder.20handover', { topic: HOSTILE });
  const [refusal, ...rest] = bot.replies();
  expect(refusal!.content).toMatch(/^I only link topics of the SRE streams/);
  expect(rest).toEqual([]);
  await bot.say('!ongoing', GENERAL);
  expect(bot.replies()[0]!.content).toContain('PostgreSQL is down on db-01');
});

test('!resolved-by takes an SRE stream named in another case as that stream', async () => {
  await bot.alert({ host: 'web-01.example.org', eventId: '2', trigger: 'HTTPS is down on web-01' });
  bot.replies();
  await bot.say('!resolved-by #**sre # critical>db-01 root cause**');
  expect(bot.replies().map((r) => [r.stream, r.topic])).toEqual([
    [CRITICAL, 'db-01 root cause'],
    [CRITICAL, 'web-01.example.org'],
  ]);
});
