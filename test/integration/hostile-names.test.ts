/**
 * Names from outside the bot, end to end (red-team finding 9): a topic whose name carries
 * `@**all**` is listed by `!ongoing` without the mention, and its link still opens that topic.
 */
import type { FakeZulip, FakeMessage } from '../support/fake-zulip';
import { type BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld());
});

afterEach(() => stopWorld({ fake, bot }));

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;

test('an alert in topic `db @**all** outage`: !ongoing lists it without the mention, linking the topic', async () => {
  const topic = 'db @**all** outage';
  const alert = fake.post(w.zabbix.email, STREAMS.critical, topic, alertPost({ host: 'db-01.example.org', eventId: '9001', trigger: 'PostgreSQL is down on db-01.example.org' }));
  await bot!.waitForLog((l) => l.messageId === alert.id);
  const q = fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  const reply = (await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: q.id })).content;
  expect(reply).toContain('PostgreSQL is down on db-01.example.org');
  expect(reply).not.toContain('@**all**');
  expect(reply).not.toMatch(/@_?\*\*all\*\*/);
  // The link names the topic: its narrow URL decodes (as Zulip does) to exactly the topic's name.
  const link = /\]\((#narrow\/stream\/[^/]+\/topic\/[^)]+)\)/.exec(reply);
  expect(link).not.toBeNull();
  const [, streamPart, topicPart] = /^#narrow\/stream\/([^/]+)\/topic\/(.+)$/.exec(link![1]!)!;
  const decode = (part: string) => decodeURIComponent(part.replace(/\./g, '%'));
  expect(decode(streamPart!)).toBe(STREAMS.critical);
  expect(decode(topicPart!)).toBe(topic);
  // Nothing the bot said anywhere carries the live mention.
  expect(fake.messagesBy(w.bot.email).filter((m) => m.content.includes('@**all**'))).toEqual([]);
});
