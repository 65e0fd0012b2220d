/**
 * Drives FakeZulip through the real zulip-js client, so the fake is checked against what the
 * bot's adapter will actually send (multipart POST bodies, query-string GET/PATCH/DELETE).
 */
import { FakeZulip, type FakeMessage, type FakeUser } from './fake-zulip';

type Params = Record<string, unknown>;
interface ApiResult { result: 'success' | 'error'; msg: string; code?: string; [key: string]: unknown }
interface ZEvent { id: number; type: string; [key: string]: unknown }
type Call = (params?: Params) => Promise<ApiResult>;
interface ZulipClient {
  queues: { register: Call; deregister: Call };
  events: { retrieve: Call };
  messages: { send: Call; retrieve: Call; update: Call; getById: Call };
  reactions: { add: Call; remove: Call };
  users: { retrieve: Call; me: { getProfile: Call; subscriptions: { add: Call; remove: Call } } };
  streams: { retrieve: Call; getStreamId: (name: string) => Promise<ApiResult>; subscriptions: { retrieve: Call } };
  callEndpoint: (path: string, method?: string, params?: Params) => Promise<ApiResult>;
}
// zulip-js ships no types; this is the part the tests use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const zulipInit = require('zulip-js') as (config: { username: string; apiKey: string; realm: string }) => Promise<ZulipClient>;

let fake: FakeZulip;
let alice: FakeUser;
let bot: FakeUser;

const connect = (user: FakeUser, apiKey = user.apiKey): Promise<ZulipClient> =>
  zulipInit({ username: user.email, apiKey, realm: fake.url });

function events(result: ApiResult): ZEvent[] {
  expect(result).toMatchObject({ result: 'success' });
  return result.events as ZEvent[];
}

async function register(z: ZulipClient, params: Params = {}): Promise<string> {
  const res = await z.queues.register({ event_types: ['message', 'update_message', 'reaction'], apply_markdown: 'false', ...params });
  expect(res).toMatchObject({ result: 'success', last_event_id: -1, zulip_feature_level: 300 });
  return res.queue_id as string;
}

function messageEvent(e: ZEvent | undefined): FakeMessage {
  expect(e?.type).toBe('message');
  return (e as ZEvent & { message: FakeMessage }).message;
}

beforeEach(async () => {
  fake = await FakeZulip.start({ heartbeatMs: 200 });
  alice = fake.addUser({ email: 'alice@example.com', fullName: 'Alice Admin' });
  bot = fake.addUser({ email: 'sre-bot@example.com', fullName: 'SRE Bot', isBot: true, apiKey: 'botkey' });
  fake.addStream('alerts');
  fake.addStream('ops');
  fake.subscribe(bot.email, 'alerts');
});

afterEach(async () => {
  await fake.stop();
});

describe('event queues', () => {
  it('delivers a posted message to a registered queue, through zulip-js', async () => {
    expect(alice.id).toBe(1000);
    const z = await connect(bot);
    const queueId = await register(z);
    expect(fake.queueCount()).toBe(1);

    const pending = z.events.retrieve({ queue_id: queueId, last_event_id: -1 }); // hangs until the post
    const posted = fake.post(alice.email, 'alerts', 'Problem: disk full', 'PROBLEM on db1', { client: 'ZulipZabbixWebhook' });
    const [event] = events(await pending);
    expect(event?.id).toBe(0);
    expect(messageEvent(event)).toMatchObject({
      id: posted.id, type: 'stream', display_recipient: 'alerts', subject: 'Problem: disk full', content: 'PROBLEM on db1',
      sender_id: alice.id, sender_email: alice.email, client: 'ZulipZabbixWebhook', reactions: [],
    });
  });

  it('filters by subscription, all_public_streams, narrow and event_types; the sender gets its own messages', async () => {
    const z = await connect(bot);
    const subscribedOnly = await register(z);
    const allPublic = await register(z, { all_public_streams: 'true' });
    const narrowed = await register(z, { all_public_streams: 'true', narrow: [['stream', 'ops']] });
    const objectNarrow = await register(z, { all_public_streams: 'true', narrow: JSON.stringify([{ operator: 'channel', operand: 'ops' }]) });
    const reactionsOnly = await register(z, { event_types: ['reaction'], all_public_streams: 'true' });

    fake.post(alice.email, 'alerts', 't1', 'in alerts');
    fake.post(alice.email, 'ops', 't2', 'in ops');
    await z.messages.send({ type: 'stream', to: 'ops', topic: 'mine', content: 'by the bot' });

    const contents = async (queue_id: string): Promise<string[]> =>
      events(await z.events.retrieve({ queue_id, last_event_id: -1, dont_block: 'true' })).map((e) => messageEvent(e).content);
    expect(await contents(subscribedOnly)).toEqual(['in alerts', 'by the bot']);
    expect(await contents(allPublic)).toEqual(['in alerts', 'in ops', 'by the bot']);
    expect(await contents(narrowed)).toEqual(['in ops', 'by the bot']);
    expect(await contents(objectNarrow)).toEqual(['in ops', 'by the bot']);
    expect(await contents(reactionsOnly)).toEqual([]);
  });

  it('answers an idle poll with a heartbeat after heartbeatMs', async () => {
    const z = await connect(bot);
    const queue_id = await register(z);
    const started = Date.now();
    const [heartbeat, ...rest] = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(heartbeat).toEqual({ type: 'heartbeat', id: 0 });
    expect(rest).toEqual([]);
  });

  it('gives increasing, non-consecutive event ids and re-sends what was not acknowledged', async () => {
    const z = await connect(bot);
    const queue_id = await register(z);
    for (let i = 0; i < 8; i++) fake.post(alice.email, 'alerts', 'flood', `m${i}`);
    const all = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    const ids = all.map((e) => e.id);
    expect(ids[0]).toBe(0);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(8);
    expect(ids.some((id, i) => i > 0 && id - (ids[i - 1] ?? 0) > 1)).toBe(true);

    const third = ids[2] as number;
    const rest = events(await z.events.retrieve({ queue_id, last_event_id: third }));
    expect(rest.map((e) => e.id)).toEqual(ids.slice(3));
    // heartbeats share the counter
    const [hb] = events(await z.events.retrieve({ queue_id, last_event_id: ids[7] }));
    expect(hb?.type).toBe('heartbeat');
    expect(hb?.id).toBeGreaterThan(ids[7] as number);
  });

  it('answers a replaced poll with zero events', async () => {
    const z = await connect(bot);
    const queue_id = await register(z);
    const first = z.events.retrieve({ queue_id, last_event_id: -1 });
    await new Promise((r) => setTimeout(r, 50)); // let the first poll reach the server
    const second = z.events.retrieve({ queue_id, last_event_id: -1 });
    expect(events(await first)).toEqual([]);
    fake.post(alice.email, 'alerts', 't', 'x');
    expect(events(await second)).toHaveLength(1);
  });

  it('answers BAD_EVENT_QUEUE_ID after expireAllQueues, also to a hanging poll', async () => {
    const z = await connect(bot);
    const queue_id = await register(z);
    const hanging = z.events.retrieve({ queue_id, last_event_id: -1 });
    await new Promise((r) => setTimeout(r, 30));
    fake.expireAllQueues();
    expect(await hanging).toMatchObject({ result: 'error', code: 'BAD_EVENT_QUEUE_ID', queue_id });
    expect(await z.events.retrieve({ queue_id, last_event_id: -1 })).toMatchObject({ result: 'error', code: 'BAD_EVENT_QUEUE_ID' });
    expect(fake.queueCount()).toBe(0);
    expect(fake.requests.filter((r) => r.path === '/api/v1/events').map((r) => r.status)).toEqual([400, 400]);
  });

  it('drops queues that are not polled for queueIdleTimeoutMs, and deletes queues on DELETE /events', async () => {
    const short = await FakeZulip.start({ queueIdleTimeoutMs: 100 });
    try {
      const u = short.addUser({ email: 'u@example.com', fullName: 'U' });
      const z = await zulipInit({ username: u.email, apiKey: u.apiKey, realm: short.url });
      const idle = (await z.queues.register({})).queue_id as string;
      const deleted = (await z.queues.register({})).queue_id as string;
      expect(await z.queues.deregister({ queue_id: deleted })).toMatchObject({ result: 'success' });
      expect(short.queueCount()).toBe(1);
      await short.waitFor(() => short.queueCount() === 0, 2000, 'idle queue to be dropped');
      expect(await z.events.retrieve({ queue_id: idle, last_event_id: -1 })).toMatchObject({ code: 'BAD_EVENT_QUEUE_ID' });
    } finally {
      await short.stop();
    }
  });
});

describe('messages', () => {
  it('sends with truncation rules, validation errors and the client name from the user agent', async () => {
    const z = await connect(bot);
    const long = await z.messages.send({ type: 'stream', to: 'alerts', topic: 'T'.repeat(80), content: 'x'.repeat(12_000) });
    expect(long).toMatchObject({ result: 'success' });
    const [stored] = fake.messagesBy(bot.email);
    expect(stored?.id).toBe(long.id);
    expect(stored?.content).toHaveLength(10_000);
    expect(stored?.content.endsWith('\n[message truncated]')).toBe(true);
    expect(stored?.subject).toBe(`${'T'.repeat(57)}...`);
    expect(stored?.client).toBe('ZulipSreBot'); // the bot's transport (src/zulip/http-fetch.ts) names itself

    const streamId = fake.addStream('alerts').id;
    expect(await z.messages.send({ type: 'channel', to: JSON.stringify(streamId), subject: 'legacy', content: 'by id' }))
      .toMatchObject({ result: 'success' });
    expect(fake.messagesIn('alerts', 'legacy')).toHaveLength(1);
    expect(await z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: ' \n ' }))
      .toMatchObject({ result: 'error', code: 'BAD_REQUEST', msg: 'Message must not be empty' });
    expect(await z.messages.send({ type: 'stream', to: 'nope', topic: 't', content: 'x' }))
      .toMatchObject({ result: 'error', code: 'STREAM_DOES_NOT_EXIST' });
  });

  it('retrieves with narrows and anchors like Zulip', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'].map((c, i) => fake.post(alice.email, i % 2 ? 'ops' : 'alerts', i < 3 ? 'one' : 'two', c).id);
    const z = await connect(bot);
    const narrow = [{ operator: 'channel', operand: 'alerts' }];
    const contents = (r: ApiResult): string[] => (r.messages as FakeMessage[]).map((m) => m.content);

    const newest = await z.messages.retrieve({ anchor: 'newest', num_before: 10, num_after: 0, narrow, apply_markdown: 'false' });
    expect(contents(newest)).toEqual(['a', 'c', 'e']);
    expect(newest).toMatchObject({ found_newest: true, found_oldest: true, found_anchor: false });

    const oldest = await z.messages.retrieve({ anchor: 'oldest', num_before: 0, num_after: 2, apply_markdown: 'false' });
    expect(contents(oldest)).toEqual(['a', 'b']);
    expect(oldest).toMatchObject({ found_oldest: true, found_newest: false, anchor: 0 });

    const around = await z.messages.retrieve({ anchor: ids[2], num_before: 1, num_after: 1, apply_markdown: 'false' });
    expect(contents(around)).toEqual(['b', 'c', 'd']);
    expect(around).toMatchObject({ found_anchor: true, found_oldest: false, found_newest: false });

    const backfill = await z.messages.retrieve({ anchor: ids[1], include_anchor: 'false', num_before: 0, num_after: 100, apply_markdown: 'false' });
    expect(contents(backfill)).toEqual(['c', 'd', 'e']);
    expect(backfill).toMatchObject({ found_newest: true });

    const topic = await z.messages.retrieve({ anchor: 'newest', num_before: 10, num_after: 0, narrow: [['stream', 'alerts'], ['topic', 'TWO']], apply_markdown: 'false' });
    expect(contents(topic)).toEqual(['e']);

    const html = await z.messages.retrieve({ anchor: 'newest', num_before: 1, num_after: 0 });
    expect(contents(html)).toEqual(['<p>e</p>']);

    expect(await z.messages.retrieve({ anchor: 'newest', num_before: 5000, num_after: 1 })).toMatchObject({ result: 'error', code: 'BAD_REQUEST' });
  });

  it('narrows GET /messages to a direct-message conversation with dm (or pm-with), by email or id', async () => {
    const z = await connect(bot);
    const bob = fake.addUser({ email: 'bob@example.com', fullName: 'Bob' });
    fake.postDirect(alice.email, [bot.email], 'hi bot');
    fake.postDirect(bob.email, [bot.email], 'hi from bob');
    expect((await z.messages.send({ type: 'private', to: JSON.stringify([alice.email]), content: 'hi alice' })).result).toBe('success');
    fake.post(alice.email, 'alerts', 't', 'stream message');
    const contents = (r: ApiResult): string[] => (r.messages as FakeMessage[]).map((m) => m.content);
    const withAlice = await z.messages.retrieve({ anchor: 'newest', num_before: 10, num_after: 0, narrow: [{ operator: 'dm', operand: alice.email }], apply_markdown: 'false' });
    expect(contents(withAlice)).toEqual(['hi bot', 'hi alice']);
    const mine = await z.messages.retrieve({ anchor: 'newest', num_before: 10, num_after: 0, narrow: [['pm-with', String(alice.id)], ['sender', bot.email]], apply_markdown: 'false' });
    expect(contents(mine)).toEqual(['hi alice']);
    expect((mine.messages as { type: string }[])[0]?.type).toBe('private');
  });

  it('waitForMessage finds existing and later messages, and times out with a helpful error', async () => {
    const first = fake.post(alice.email, 'alerts', 't', 'hello');
    await expect(fake.waitForMessage((m) => m.content === 'hello')).resolves.toMatchObject({ id: first.id });
    const later = fake.waitForMessage((m) => m.content.startsWith('later'), { afterId: first.id });
    setTimeout(() => fake.post(alice.email, 'alerts', 't', 'later on'), 20);
    await expect(later).resolves.toMatchObject({ content: 'later on' });
    await expect(fake.waitForMessage(() => false, { timeoutMs: 50 })).rejects.toThrow(/no matching message.*\n.*later on/s);
  });
});

describe('reactions', () => {
  it('adds and removes reactions with Zulip error codes, and emits reaction events', async () => {
    const m = fake.post(alice.email, 'alerts', 't', 'PROBLEM');
    const z = await connect(bot);
    const queue_id = await register(z);

    expect(await z.reactions.add({ message_id: m.id, emoji_name: 'repeat' })).toMatchObject({ result: 'success' });
    expect(await z.reactions.add({ message_id: m.id, emoji_name: 'repeat' })).toMatchObject({ result: 'error', code: 'REACTION_ALREADY_EXISTS' });
    expect(await z.reactions.add({ message_id: m.id, emoji_name: 'no_such_emoji' })).toMatchObject({ result: 'error', code: 'BAD_REQUEST', msg: 'Invalid emoji name' });
    expect(fake.messages()[0]?.reactions).toEqual([{ emoji_name: 'repeat', emoji_code: '1f501', reaction_type: 'unicode_emoji', user_id: bot.id }]);

    expect(await z.reactions.remove({ message_id: m.id, emoji_name: 'repeat' })).toMatchObject({ result: 'success' });
    expect(await z.reactions.remove({ message_id: m.id, emoji_name: 'repeat' })).toMatchObject({ code: 'REACTION_DOES_NOT_EXIST' });

    const got = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(got.map((e) => [e.type, e.op])).toEqual([['reaction', 'add'], ['reaction', 'remove']]);
    expect(got[0]).toMatchObject({ message_id: m.id, emoji_name: 'repeat', emoji_code: '1f501', reaction_type: 'unicode_emoji', user_id: bot.id });
  });
});

describe('reactions as events (issue 18)', () => {
  it('a person\'s reaction goes to the queues registered for `reaction` events only, with user_id and the emoji', async () => {
    const m = fake.post(alice.email, 'alerts', 'web-01', 'PROBLEM');
    const zb = await connect(bot);
    const withReactions = await register(zb, { all_public_streams: 'true' });
    const withoutReactions = await register(zb, { all_public_streams: 'true', event_types: ['message', 'update_message'] });
    const za = await connect(alice);
    expect(await za.reactions.add({ message_id: m.id, emoji_name: 'working_on_it' })).toMatchObject({ result: 'success' });
    fake.react(alice.email, m.id, 'eyes'); // the same through the test's hand
    fake.unreact(alice.email, m.id, 'eyes');
    const got = events(await zb.events.retrieve({ queue_id: withReactions, last_event_id: -1 }));
    expect(got.map((e) => [e.type, e.op, e.emoji_name])).toEqual([['reaction', 'add', 'working_on_it'], ['reaction', 'add', 'eyes'], ['reaction', 'remove', 'eyes']]);
    expect(got[0]).toMatchObject({ message_id: m.id, emoji_code: '1f6e0', reaction_type: 'unicode_emoji', user_id: alice.id, user: { user_id: alice.id, email: alice.email } });
    expect(events(await zb.events.retrieve({ queue_id: withoutReactions, last_event_id: -1, dont_block: 'true' }))).toEqual([]);
    expect(fake.messages()[0]?.reactions).toEqual([{ emoji_name: 'working_on_it', emoji_code: '1f6e0', reaction_type: 'unicode_emoji', user_id: alice.id }]);
  });
});

describe('content edits (issue 18: cards the bot keeps up to date)', () => {
  it('the sender edits its message: an update_message event with orig_content and content, the edit recorded', async () => {
    const zb = await connect(bot);
    const sent = await zb.messages.send({ type: 'stream', to: 'alerts', topic: 'web-01', content: 'status: open' });
    const queue_id = await register(zb);
    expect(await zb.messages.update({ message_id: sent.id, content: 'status: acknowledged' })).toMatchObject({ result: 'success' });
    const [e] = events(await zb.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(e).toMatchObject({ type: 'update_message', message_id: sent.id, message_ids: [sent.id], orig_content: 'status: open', content: 'status: acknowledged', user_id: bot.id });
    expect(e).not.toHaveProperty('orig_subject'); // a content edit, not a topic move
    const stored = fake.messagesBy(bot.email)[0];
    expect(stored).toMatchObject({ id: sent.id, content: 'status: acknowledged', subject: 'web-01' });
    expect(stored?.last_edit_timestamp).toEqual(expect.any(Number));
    expect(fake.editsOf(sent.id as number)).toEqual([{ at: expect.any(Number), userId: bot.id, before: 'status: open', after: 'status: acknowledged' }]);
    // Only the sender edits content.
    const za = await connect(alice);
    expect(await za.messages.update({ message_id: sent.id, content: 'hacked' })).toMatchObject({ result: 'error', code: 'BAD_REQUEST' });
    expect(fake.editsOf(sent.id as number)).toHaveLength(1);
  });

  it('editLimitSeconds: /register tells the limit; an edit after it is refused as Zulip refuses it, a newer message is still editable', async () => {
    const limited = await FakeZulip.start({ heartbeatMs: 200, editLimitSeconds: 1 });
    try {
      const b = limited.addUser({ email: 'sre-bot@example.com', fullName: 'SRE Bot', isBot: true, apiKey: 'botkey' });
      limited.addStream('alerts');
      const zb = await zulipInit({ username: b.email, apiKey: b.apiKey, realm: limited.url });
      expect(await zb.queues.register({ event_types: ['message'], fetch_event_types: ['message', 'realm'] })).toMatchObject({ realm_message_content_edit_limit_seconds: 1 });
      // The realm's state only when asked for (fetch_event_types defaults to event_types).
      expect(await zb.queues.register({ event_types: ['message'] })).not.toHaveProperty('realm_message_content_edit_limit_seconds');
      // Without a limit (the default fake): null, as Zulip says "no limit".
      expect(await (await connect(bot)).queues.register({ event_types: ['message'], fetch_event_types: ['realm'] })).toMatchObject({ realm_message_content_edit_limit_seconds: null });
      const old = await zb.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'card v1' });
      expect(await zb.messages.update({ message_id: old.id, content: 'card v2' })).toMatchObject({ result: 'success' });
      await new Promise((r) => setTimeout(r, 2_100));
      expect(await zb.messages.update({ message_id: old.id, content: 'card v3' })).toMatchObject({ result: 'error', code: 'BAD_REQUEST', msg: 'The time limit for editing this message has passed' });
      expect(limited.messages()[0]?.content).toBe('card v2');
      const fresh = await zb.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'card v3' });
      expect(await zb.messages.update({ message_id: fresh.id, content: 'card v4' })).toMatchObject({ result: 'success' });
      expect(limited.editsOf(fresh.id as number).map((x) => x.after)).toEqual(['card v4']);
    } finally {
      await limited.stop();
    }
  });
});

describe('topic edits', () => {
  it('renameTopic changes the messages and emits one update_message event', async () => {
    const a = fake.post(alice.email, 'alerts', 'Problem: cpu', 'one');
    const b = fake.post(alice.email, 'alerts', 'Problem: cpu', 'two');
    const z = await connect(bot);
    const queue_id = await register(z);
    fake.renameTopic('alerts', 'Problem: cpu', 'cpu on web1');
    expect(fake.messagesIn('alerts', 'cpu on web1').map((m) => m.id)).toEqual([a.id, b.id]);
    expect(fake.messagesIn('alerts', 'Problem: cpu')).toEqual([]);
    const [event, ...more] = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: 'update_message', message_id: a.id, message_ids: [a.id, b.id], orig_subject: 'Problem: cpu', subject: 'cpu on web1',
      stream_id: fake.addStream('alerts').id, propagate_mode: 'change_all', user_id: alice.id, rendering_only: false,
    });
    expect(event).not.toHaveProperty('new_stream_id');
  });

  it('PATCH /messages/{id} moves topics between streams (subject only when the topic changes)', async () => {
    const a = fake.post(alice.email, 'alerts', 'x', 'one');
    fake.post(alice.email, 'alerts', 'x', 'two');
    const z = await connect(bot);
    const queue_id = await register(z, { all_public_streams: 'true' });
    const ops = fake.addStream('ops');
    expect(await z.messages.update({ message_id: a.id, stream_id: ops.id, propagate_mode: 'change_all' })).toMatchObject({ result: 'success' });
    expect(fake.messagesIn('ops', 'x')).toHaveLength(2);
    const [event] = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(event).toMatchObject({ type: 'update_message', new_stream_id: ops.id, orig_subject: 'x', propagate_mode: 'change_all' });
    expect(event).not.toHaveProperty('subject');

    expect(await z.messages.update({ message_id: a.id, topic: 'y', propagate_mode: 'change_one' })).toMatchObject({ result: 'success' });
    expect(fake.messagesIn('ops', 'y').map((m) => m.id)).toEqual([a.id]);
  });

  it('resolveTopic prefixes the topic and posts the Notification Bot message', async () => {
    fake.post(alice.email, 'alerts', 'Problem: disk', 'PROBLEM');
    const z = await connect(bot);
    const queue_id = await register(z);
    fake.resolveTopic('alerts', 'Problem: disk', alice.email);
    expect(fake.messagesIn('alerts', 'Problem: disk')).toEqual([]);
    const resolved = fake.messagesIn('alerts', '✔ Problem: disk');
    expect(resolved.map((m) => m.content)).toEqual(['PROBLEM', `@_**Alice Admin|${alice.id}** has marked this topic as resolved.`]);
    expect(resolved[1]).toMatchObject({ sender_email: 'notification-bot@zulip.com', sender_full_name: 'Notification Bot' });
    const got = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(got.map((e) => e.type)).toEqual(['update_message', 'message']);
    expect(got[0]).toMatchObject({ orig_subject: 'Problem: disk', subject: '✔ Problem: disk' });
  });
});

describe('rate limits and faults', () => {
  it('answers 429 RATE_LIMIT_HIT with retry-after via rateLimitNext', async () => {
    const z = await connect(bot);
    fake.rateLimitNext(1, 7, { path: /\/messages$/ });
    expect(await z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'x' }))
      .toMatchObject({ result: 'error', code: 'RATE_LIMIT_HIT', 'retry-after': 7 });
    expect(fake.rateLimitHits).toBe(1);
    expect(await z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'x' })).toMatchObject({ result: 'success' });
    expect(fake.messages()).toHaveLength(1);
  });

  it('enforces rateLimitPerMinute with X-RateLimit headers (GET /events is free)', async () => {
    const small = await FakeZulip.start({ rateLimitPerMinute: 3 });
    try {
      const u = small.addUser({ email: 'u@example.com', fullName: 'U', apiKey: 'k' });
      const auth = { authorization: `Basic ${Buffer.from('u@example.com:k').toString('base64')}` };
      const get = (path: string): Promise<Response> => fetch(`${small.url}/api/v1${path}`, { headers: auth });
      const first = await get('/users/me');
      expect(first.headers.get('x-ratelimit-limit')).toBe('3');
      expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
      expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
      const z = await zulipInit({ username: u.email, apiKey: 'k', realm: small.url });
      const queue_id = (await z.queues.register({})).queue_id as string;
      await get('/users');
      for (let i = 0; i < 3; i++) await z.events.retrieve({ queue_id, dont_block: 'true' });
      const limited = await get('/streams');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await limited.json()).toMatchObject({ result: 'error', code: 'RATE_LIMIT_HIT', 'retry-after': expect.any(Number) });
      expect(small.rateLimitHits).toBe(1);
    } finally {
      await small.stop();
    }
  });

  it('failNext answers HTML, on which zulip-js throws (the answer is not JSON)', async () => {
    const z = await connect(bot);
    fake.failNext(1, { status: 502, method: 'POST' });
    const sent = z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'x' });
    await expect(sent).rejects.toMatchObject({ code: 'INVALID_JSON', status: 502 });
    await expect(sent).rejects.toThrow(/502 to POST .* is not JSON: <html>502 /);
    expect(fake.requests.at(-1)).toMatchObject({ status: 502, method: 'POST', path: '/api/v1/messages', fault: 'fail' });
    expect(fake.messages()).toEqual([]);
    expect(await z.users.me.getProfile()).toMatchObject({ result: 'success', user_id: bot.id, is_bot: true });
  });

  it('hangNext never answers, and stop() ends it without leaving handles', async () => {
    const z = await connect(bot);
    fake.hangNext(1, { path: /\/users$/ });
    let settled = false;
    const hung = z.users.retrieve().finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    await fake.stop();
    await expect(hung).rejects.toThrow();
  });

  it('dropNext cuts the answer after processing: zulip-js rejects, the message exists', async () => {
    const z = await connect(bot);
    fake.dropNext(1, { path: /\/messages$/ });
    await expect(z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'sent once' })).rejects.toThrow(/cut short/);
    expect(fake.messagesIn('alerts', 't').map((m) => m.content)).toEqual(['sent once']);
    expect(fake.requests.at(-1)).toMatchObject({ fault: 'drop' });
  });

  it('failNext with body json answers Zulip\'s own JSON error with the 5xx status (code only when given)', async () => {
    const z = await connect(bot);
    fake.failNext(1, { status: 500, method: 'POST', body: 'json' });
    fake.failNext(1, { status: 503, method: 'POST', body: 'json', code: 'BAD_REQUEST' });
    const send = () => z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content: 'x' });
    expect(await send()).toEqual({ result: 'error', msg: 'Internal server error' });
    expect(await send()).toEqual({ result: 'error', msg: 'Service Unavailable', code: 'BAD_REQUEST' });
    expect(fake.requests.slice(-2).map((r) => [r.status, r.fault])).toEqual([[500, 'fail'], [503, 'fail']]);
    expect(fake.messages()).toEqual([]);
    expect(await send()).toMatchObject({ result: 'success' });
  });

  it('delayNext answers late; the message is stored although the client stopped waiting (at once, or only when answered)', async () => {
    const z = await connect(bot);
    const contents = () => fake.messagesIn('alerts', 't').map((m) => m.content);
    const send = (content: string) => z.messages.send({ type: 'stream', to: 'alerts', topic: 't', content });
    const clientTimeout = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => 'answered'), new Promise((r) => setTimeout(() => r('timed out'), ms))]);

    fake.delayNext(1, 500, { path: /\/messages$/, method: 'POST' });
    const started = Date.now();
    const slow = send('slow');
    expect(await clientTimeout(slow, 150)).toBe('timed out');
    expect(contents()).toEqual(['slow']); // stored before the answer
    expect(await slow).toMatchObject({ result: 'success' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', status: 200, fault: 'delay' });

    fake.delayNext(1, 500, { path: /\/messages$/, effect: 'when-answered' });
    const slower = send('slower');
    expect(await clientTimeout(slower, 150)).toBe('timed out');
    expect(contents()).toEqual(['slow']); // the server is still working on it
    expect(fake.delayedInFlight()).toBe(1);
    expect(await slower).toMatchObject({ result: 'success' });
    expect(contents()).toEqual(['slow', 'slower']);
    expect(fake.delayedInFlight()).toBe(0);
  });

  it('deliverOutOfOrderNext queues a message\'s event after the next one\'s: in one batch, or in a later one', async () => {
    const z = await connect(bot);
    const queue_id = await register(z);
    fake.deliverOutOfOrderNext(1);
    const first = fake.post(alice.email, 'alerts', 't', 'first');
    const second = fake.post(alice.email, 'alerts', 't', 'second');
    const batch = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(batch.map((e) => messageEvent(e).id)).toEqual([second.id, first.id]);
    expect(fake.outOfOrderDelivered).toBe(1);
    expect(fake.outOfOrderPairs).toEqual([{ held: first.id, after: second.id }]);
    expect((batch[0] as ZEvent).id).toBeLessThan((batch[1] as ZEvent).id);

    fake.deliverOutOfOrderNext(1, { sameBatch: false });
    const third = fake.post(alice.email, 'alerts', 't', 'third');
    const pending = z.events.retrieve({ queue_id, last_event_id: (batch[1] as ZEvent).id });
    await new Promise((r) => setTimeout(r, 50)); // the poll waits at the server
    const fourth = fake.post(alice.email, 'alerts', 't', 'fourth');
    const b1 = events(await pending);
    expect(b1.map((e) => messageEvent(e).id)).toEqual([fourth.id]);
    const b2 = events(await z.events.retrieve({ queue_id, last_event_id: (b1[0] as ZEvent).id }));
    expect(b2.map((e) => messageEvent(e).id)).toEqual([third.id]);

    // A held event with no event after it goes out by itself.
    fake.deliverOutOfOrderNext(1);
    const alone = fake.post(alice.email, 'alerts', 't', 'alone');
    let last = (b2[0] as ZEvent).id;
    let got: ZEvent[] = [];
    while (got.length === 0) { // heartbeats (every 200 ms here) may come first
      const b = events(await z.events.retrieve({ queue_id, last_event_id: last }));
      last = (b.at(-1) as ZEvent).id;
      got = b.filter((e) => e.type === 'message');
    }
    expect(got.map((e) => messageEvent(e).id)).toEqual([alone.id]);
  });

  it('unknownEventIdNext hands out an event id the queue never issued; acknowledging it is refused, as Zulip does', async () => {
    const z = await connect(bot);
    const queue_id = await register(z);
    fake.unknownEventIdNext(1);
    const m = fake.post(alice.email, 'alerts', 't', 'x');
    const batch = events(await z.events.retrieve({ queue_id, last_event_id: -1 }));
    expect(messageEvent(batch[0]).id).toBe(m.id);
    const bogus = batch[1] as ZEvent;
    expect(bogus.type).toBe('heartbeat');
    expect(bogus.id).toBeGreaterThan((batch[0] as ZEvent).id + 1000);
    expect(fake.requests.at(-1)).toMatchObject({ status: 200, fault: 'unknownEventId' });

    fake.post(alice.email, 'alerts', 't', 'pruned with it');
    const refused = { result: 'error', code: 'BAD_REQUEST', msg: `Event ${bogus.id} was not in this queue` };
    expect(await z.events.retrieve({ queue_id, last_event_id: bogus.id })).toMatchObject(refused);
    // Every later poll with that id is refused too: only a new queue helps.
    expect(await z.events.retrieve({ queue_id, last_event_id: bogus.id })).toMatchObject(refused);
    // And an id older than one already acknowledged is refused as well.
    expect(await z.events.retrieve({ queue_id, last_event_id: -1 })).toMatchObject({ result: 'error', code: 'BAD_REQUEST', msg: 'An event newer than -1 has already been pruned!' });
  });

  it('rejects a bad API key with 401 INVALID_API_KEY', async () => {
    const z = await connect(bot, 'wrong');
    expect(await z.users.me.getProfile()).toEqual({ result: 'error', msg: 'Invalid API key', code: 'INVALID_API_KEY' });
    expect(fake.requests.at(-1)).toMatchObject({ status: 401 });
    expect(fake.requests.at(-1)?.user).toBeUndefined();
  });
});

describe('users and streams', () => {
  it('serves users, streams and subscriptions', async () => {
    const z = await connect(bot);
    expect(((await z.users.retrieve()).members as { email: string }[]).map((m) => m.email)).toEqual([alice.email, bot.email]);
    expect(await z.callEndpoint(`/users/${alice.id}`)).toMatchObject({ user: { user_id: alice.id, full_name: 'Alice Admin', is_bot: false } });
    const alerts = fake.addStream('alerts');
    expect(await z.streams.getStreamId('alerts')).toMatchObject({ result: 'success', stream_id: alerts.id });
    expect(await z.streams.getStreamId('missing')).toMatchObject({ result: 'error', code: 'BAD_REQUEST' });
    expect(((await z.streams.retrieve()).streams as { name: string }[]).map((s) => s.name)).toEqual(['alerts', 'ops']);

    expect(await z.callEndpoint(`/users/${bot.id}/subscriptions/${alerts.id}`)).toMatchObject({ is_subscribed: true });
    expect(await z.callEndpoint(`/streams/${alerts.id}/members`)).toMatchObject({ subscribers: [bot.id] });

    const added = await z.users.me.subscriptions.add({ subscriptions: [{ name: 'ops' }, { name: 'brand-new' }] });
    expect(added).toMatchObject({ result: 'success', subscribed: { [bot.email]: ['ops', 'brand-new'] } });
    expect(((await z.streams.subscriptions.retrieve()).subscriptions as { name: string }[]).map((s) => s.name))
      .toEqual(['alerts', 'ops', 'brand-new']);

    expect(await z.users.me.subscriptions.remove({ subscriptions: JSON.stringify(['ops']) })).toMatchObject({ removed: ['ops'] });
    fake.unsubscribe(bot.email, 'alerts');
    expect(((await z.streams.subscriptions.retrieve()).subscriptions as { name: string }[]).map((s) => s.name)).toEqual(['brand-new']);
    expect(await z.callEndpoint('/no/such/route')).toMatchObject({ result: 'error', code: 'BAD_REQUEST', msg: 'Not found' });
  });
});
