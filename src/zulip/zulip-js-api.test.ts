/**
 * The adapter through the real zulip-js against the fake Zulip: HTTP statuses reach ZulipError
 * (zulip-js hides them), a timed-out request's late answer, send keys, reactions (the bot's, and
 * people's as events).
 */
import { FakeZulip, type FakeUser } from '../../test/support/fake-zulip';
import type { ZulipApi, ZulipEvent } from './api';
import { SEND_KEY_ROOM, ZulipError } from './api';
import { createZulipJsApi, eventWire, messageWire, readMessage, splitSendKey, toEvent, withSendKey } from './zulip-js-api';
import { Rng } from '../../test/support/prng';

let fake: FakeZulip;
let bot: FakeUser;
let ann: FakeUser;
let api: ZulipApi;

beforeEach(async () => {
  fake = await FakeZulip.start({ heartbeatMs: 200 });
  bot = fake.addUser({ email: 'sre-bot@example.org', fullName: 'SRE Bot', isBot: true });
  ann = fake.addUser({ email: 'ann@example.org', fullName: 'Ann Smith' });
  fake.addStream('S');
  api = await createZulipJsApi({ site: fake.url, email: bot.email, apiKey: bot.apiKey }, { requestTimeoutMs: 300 });
});

afterEach(async () => {
  await fake.stop();
});

async function failure(p: Promise<unknown>): Promise<ZulipError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ZulipError);
    return err as ZulipError;
  }
  throw new Error('expected a failure');
}

test('the HTTP status reaches the error: every 5xx is retryable whatever its body, a 4xx refusal is not', async () => {
  const send = () => api.sendStreamMessage('S', 't', 'x');
  fake.failNext(1, { status: 500, method: 'POST', body: 'json' });
  const json500 = await failure(send());
  expect(json500).toMatchObject({ kind: 'api', status: 500, code: undefined });
  expect(json500.retryable).toBe(true);
  expect(json500.unclear).toBe(true);

  fake.failNext(1, { status: 503, method: 'POST', body: 'json', code: 'BAD_REQUEST' });
  expect(await failure(send())).toMatchObject({ kind: 'api', status: 503, code: 'BAD_REQUEST', retryable: true });

  fake.failNext(1, { status: 502, method: 'POST' }); // a proxy's HTML page
  expect(await failure(send())).toMatchObject({ kind: 'network', status: 502, retryable: true, unclear: true });

  fake.rateLimitNext(1, 2);
  expect(await failure(send())).toMatchObject({ kind: 'api', status: 429, code: 'RATE_LIMIT_HIT', retryable: true, unclear: false });

  const missing = await failure(api.sendStreamMessage('no such stream', 't', 'x'));
  expect(missing).toMatchObject({ kind: 'api', status: 400, code: 'STREAM_DOES_NOT_EXIST', retryable: false, unclear: false });
});

test('a request past the timeout fails with `timeout`; its late answer is still told', async () => {
  fake.delayNext(1, 600, { method: 'POST', path: /\/messages$/ });
  const err = await failure(api.sendStreamMessage('S', 't', 'slow'));
  expect(err).toMatchObject({ kind: 'timeout', retryable: true, unclear: true });
  await expect(err.late).resolves.toBeUndefined();
  expect(fake.messagesIn('S', 't')).toHaveLength(1);

  fake.delayNext(1, 600, { method: 'POST', path: /\/messages$/ });
  const refused = await failure(api.sendStreamMessage('no such stream', 't', 'slow'));
  await expect(refused.late).rejects.toMatchObject({ kind: 'api', code: 'STREAM_DOES_NOT_EXIST' });
});

test('a send key travels invisibly with the message and is found again, in a stream and in a direct conversation', async () => {
  await api.sendStreamMessage('S', 'one', '**Reminder**: see [the runbook](https://wiki.example.org/x)', '0123456789ab');
  await api.sendStreamMessage('S', 'two', 'no key');
  await api.sendDirectMessage([ann.email], 'Commands: `!help`', 'fedcba987654');
  // The fake shows what readers see, and the key it split off.
  expect(fake.messagesIn('S', 'one')[0]).toMatchObject({ content: '**Reminder**: see [the runbook](https://wiki.example.org/x)', sendKey: '0123456789ab' });
  expect(fake.messagesIn('S', 'two')[0]?.sendKey).toBeUndefined();

  expect(await api.sentKeys?.({ stream: 'S', topic: 'one' }, bot.email, 50)).toEqual(new Set(['0123456789ab']));
  expect(await api.sentKeys?.({ stream: 'S', topic: 'two' }, bot.email, 50)).toEqual(new Set());
  expect(await api.sentKeys?.({ direct: [ann.email] }, bot.email, 50)).toEqual(new Set(['fedcba987654']));
  expect(await api.sentKeys?.({ stream: 'S', topic: 'one' }, ann.email, 50)).toEqual(new Set());
  // Readers of history get the content without the key.
  expect((await api.latestMessages({ stream: 'S', topic: 'one' }, 5)).map((m) => m.content)).toEqual(['**Reminder**: see [the runbook](https://wiki.example.org/x)']);
});

test('send keys: a closing code fence keeps its line; every key survives the round trip', () => {
  // 'a' = 2,2 and '1' = 0,1 in base 4: U+2061 U+2061, U+200B U+2060.
  expect(withSendKey('```\ncode\n```', 'a1')).toBe('```\ncode\n```\n\u2063\u2061\u2061\u200b\u2060\u2063');
  const table = '| a | b |\n|---|---|\n| 1 | 2 |';
  for (const key of ['0', 'f', '0123456789abcdef', 'deadbeef0042']) {
    const text = withSendKey(table, key);
    expect(splitSendKey(text)).toEqual({ content: table, key });
    expect([...text].length - [...table].length).toBeLessThanOrEqual(SEND_KEY_ROOM);
  }
  expect(splitSendKey('plain text')).toEqual({ content: 'plain text' });
  expect(() => withSendKey('x', 'XYZ')).toThrow(/hex/);
});

test('a reaction that exists already counts as done', async () => {
  const m = fake.post(ann.email, 'S', 't', 'PROBLEM');
  await api.addReaction(m.id, 'repeat');
  await api.addReaction(m.id, 'repeat');
  expect(fake.messagesIn('S', 't')[0]?.reactions).toHaveLength(1);
});

test('the queue carries people\'s reactions: register asks for `reaction` events, toEvent reads them (op, message, emoji, user)', async () => {
  fake.subscribe(bot.email, 'S');
  const queue = await api.register();
  const m = fake.post(ann.email, 'S', 't', 'PROBLEM');
  fake.react(ann.email, m.id, 'working_on_it');
  fake.unreact(ann.email, m.id, 'working_on_it');
  const got: ZulipEvent[] = [];
  for (let last = queue.lastEventId; got.filter((e) => e.kind === 'reaction').length < 2; ) {
    const batch = await api.getEvents(queue.queueId, last);
    got.push(...batch);
    last = Math.max(last, ...batch.map((e) => e.id));
  }
  expect(got.filter((e) => e.kind === 'reaction').map((e) => e.kind === 'reaction' && e.reaction)).toEqual([
    { op: 'add', messageId: m.id, emojiName: 'working_on_it', userId: ann.id },
    { op: 'remove', messageId: m.id, emojiName: 'working_on_it', userId: ann.id },
  ]);
  // Zulip before 3.0 sent only the `user` object; a reaction without any user is not one.
  expect(toEvent({ id: 7, type: 'reaction', op: 'add', message_id: 5, emoji_name: 'eyes', user: { user_id: 9, email: 'x@y' } })).toEqual({ id: 7, kind: 'reaction', reaction: { op: 'add', messageId: 5, emojiName: 'eyes', userId: 9 } });
  expect(toEvent({ id: 8, type: 'reaction', op: 'add', message_id: 5, emoji_name: 'eyes' })).toEqual({ id: 8, kind: 'other', type: 'reaction' });
  // Content edits (the bot's own card edits too) come back as update_message events without a topic change: an edit, not a move.
  expect(toEvent({ id: 9, type: 'update_message', message_id: 5, message_ids: [5], stream_id: 1, orig_content: 'a', content: 'b' })).toEqual({ id: 9, kind: 'edit', edit: { messageId: 5, content: 'b' } });
  expect(toEvent({ id: 10, type: 'update_message', message_id: 5, message_ids: [5], content: 'b', rendering_only: true })).toEqual({ id: 10, kind: 'other', type: 'update_message' });
  expect(toEvent({ id: 11, type: 'delete_message', message_id: 7, message_type: 'stream' })).toEqual({ id: 11, kind: 'delete', messageIds: [7] });
});

test('messages and events are checked by hand exactly as their zod schemas check them', () => {
  const rng = new Rng(17);
  const valid = { id: 7, type: 'stream', stream_id: 3, display_recipient: 'SRE # Critical', subject: 'web-01', content: 'PROBLEM', sender_id: 9, sender_email: 'zabbix@example.org', sender_full_name: 'Zabbix', client: 'ZulipPython', timestamp: 1_790_000_000, flags: ['read'], reactions: [] };
  const odd: unknown[] = [undefined, null, 0, -1.5, NaN, Infinity, '', 'x', '7', true, [], {}, [1], { id: 1 }];
  const keys = Object.keys(valid);
  let agreed = 0;
  for (let n = 0; n < 5000; n++) {
    const m: Record<string, unknown> = { ...valid };
    for (let k = rng.int(0, 3); k > 0; k--) {
      const key = rng.pick(keys) as string;
      if (rng.int(0, 3) === 0) delete m[key];
      else m[key] = rng.pick(odd);
    }
    if (rng.int(0, 9) === 0) m.type = 'private';
    const input: unknown = rng.int(0, 49) === 0 ? rng.pick(odd) : m;
    const ref = messageWire.safeParse(input);
    expect(readMessage(input)).toEqual(ref.success ? ref.data : undefined);
    const event: unknown = rng.int(0, 49) === 0 ? rng.pick(odd) : { id: rng.int(0, 3) === 0 ? rng.pick(odd) : n, type: rng.int(0, 5) === 0 ? rng.pick(odd) : 'message', message: input };
    const refEvent = eventWire.safeParse(event);
    const got = toEvent(event);
    expect(got !== undefined).toBe(refEvent.success);
    if (ref.success) agreed++;
  }
  expect(agreed).toBeGreaterThan(500); // valid ones were among them, not only refusals
});
