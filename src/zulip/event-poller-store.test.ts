/**
 * The event poller when the store cannot write: the message is not skipped and the position does
 * not move past it; the same message is handled again (after a backoff) until the store works.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../core/log';
import { StoreUnavailableError } from '../store/errors';
import type { StreamMessage, ZulipApi, ZulipEvent } from './api';
import { EventPoller, type EventSink } from './event-poller';

const diskFull = () => new StoreUnavailableError('SQLITE_FULL', 'database or disk is full');

function msg(id: number, content = `message ${id}`): StreamMessage {
  return { id, streamId: 1, stream: 'SRE # Critical', topic: 'web-01', content, senderId: 5, senderEmail: 'ann@example.org', senderName: 'Ann', client: 'test', timestamp: 1 };
}

/** One queue whose events are handed again until acknowledged (Zulip's last_event_id). */
function zulip(events: ZulipEvent[]) {
  const polls: number[] = [];
  const api = {
    register: async () => ({ queueId: 'q1', lastEventId: -1, maxMessageId: 10, longpollTimeoutSeconds: 90 }),
    getMessagesAfter: async () => ({ messages: [], foundNewest: true }),
    getEvents: async (_q: string, last: number) => {
      polls.push(last);
      const next = events.filter((e) => e.id > last);
      if (next.length > 0) return next;
      await new Promise((r) => setTimeout(r, 20));
      return [];
    },
  } as unknown as ZulipApi;
  return { api, polls };
}

function world(events: ZulipEvent[], sink: EventSink, opts: { cursorFails?: () => boolean } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  const stored: number[] = [];
  let cursor: number | undefined = 10;
  const { api, polls } = zulip(events);
  const poller = new EventPoller({
    api,
    sink,
    cursor: {
      get: () => cursor,
      set: (id) => {
        if (opts.cursorFails?.()) throw diskFull();
        cursor = Math.max(cursor ?? 0, id);
        stored.push(id);
      },
    },
    streams: ['SRE # Critical'],
    log,
    random: () => 0,
    backoff: { baseMs: 10, maxMs: 20 },
  });
  const stop = new AbortController();
  const running = poller.run(stop.signal);
  return {
    lines,
    stored,
    polls,
    cursor: () => cursor,
    setCursor: (id: number) => (cursor = id),
    async until(what: string, cond: () => boolean) {
      const end = Date.now() + 10_000;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      stop.abort();
      await running;
    },
  };
}

test('a message the store cannot take is handled again, in order, until it can; the position never passes it', async () => {
  const handled: number[] = [];
  let failuresLeft = 3;
  let storedWhile12Failed: number[] = [];
  let w: ReturnType<typeof world> | undefined = undefined;
  w = world(
    [11, 12, 13].map((id) => ({ id, kind: 'message' as const, message: msg(id) })),
    {
      onMessage: (m) => {
        handled.push(m.id);
        if (m.id === 12 && failuresLeft-- > 0) throw diskFull();
        if (m.id === 12) storedWhile12Failed = [...(w?.stored ?? [])];
      },
      onTopicMove: () => {},
      onDirectMessage: () => {},
    },
  );
  await w.until('message 13 handled', () => handled.includes(13));
  await w.until('position stored', () => w?.cursor() === 13);
  await w.stop();
  expect(handled).toEqual([11, 12, 12, 12, 12, 13]);
  expect(storedWhile12Failed.every((id) => id < 12)).toBe(true);
  expect(w.stored.at(-1)).toBe(13);
  expect(w.lines.filter((l) => l.msg === 'message handling failed; skipped')).toEqual([]);
  expect(w.lines.filter((l) => l.msg === 'the store cannot write: intake waits and handles the same message again')).toHaveLength(3);
});

test('a message whose own handling fails is still logged and skipped (unchanged)', async () => {
  const handled: number[] = [];
  const w = world(
    [11, 12].map((id) => ({ id, kind: 'message' as const, message: msg(id) })),
    {
      onMessage: (m) => {
        handled.push(m.id);
        if (m.id === 11) throw new Error('bug');
      },
      onTopicMove: () => {},
      onDirectMessage: () => {},
    },
  );
  await w.until('both handled', () => w.cursor() === 12);
  await w.stop();
  expect(handled).toEqual([11, 12]);
  expect(w.lines.filter((l) => l.msg === 'message handling failed; skipped')).toHaveLength(1);
});

test('a topic move the store cannot take is not skipped either', async () => {
  const moves: number[] = [];
  let fail = true;
  const w = world([{ id: 11, kind: 'topic-move', move: { messageIds: [5], fromStreamId: 1, toStreamId: 1, fromTopic: 'a', toTopic: 'b' } }], {
    onMessage: () => {},
    onTopicMove: () => {
      moves.push(11);
      if (fail) {
        fail = false;
        throw diskFull();
      }
    },
    onDirectMessage: () => {},
  });
  await w.until('move retried', () => moves.length === 2);
  await w.stop();
  expect(w.lines.filter((l) => l.msg === 'topic move handling failed; skipped')).toEqual([]);
});

test('storing the position failing does not end the poller; it is stored with a later batch', async () => {
  let cursorDown = true;
  const handled: number[] = [];
  const events: ZulipEvent[] = [{ id: 11, kind: 'message', message: msg(11) }];
  const w = world(events, { onMessage: (m) => void handled.push(m.id), onTopicMove: () => {}, onDirectMessage: () => {} }, { cursorFails: () => cursorDown });
  await w.until('first batch tried', () => w.lines.some((l) => l.msg === 'the store cannot write: intake waits and handles the same message again'));
  cursorDown = false;
  events.push({ id: 12, kind: 'message', message: msg(12) });
  await w.until('position stored', () => w.cursor() === 12);
  await w.stop();
  expect(handled).toEqual([11, 12]);
});

test('a command committed with the position before a later step failed is not run again', async () => {
  const handled: number[] = [];
  let w: ReturnType<typeof world> | undefined;
  let failed = false;
  // eslint-disable-next-line prefer-const -- the hook below reads w, which exists only once world() returns
  w = world([{ id: 11, kind: 'message', message: msg(11, '!ack') }], {
    onMessage: (m) => {
      handled.push(m.id);
      if (!failed) {
        failed = true;
        w?.setCursor(11); // the dispatcher committed the answer and the position…
        throw diskFull(); // …then a module hook failed on the store
      }
    },
    onTopicMove: () => {},
    onDirectMessage: () => {},
  });
  await w.until('retried', () => w !== undefined && w.polls.filter((p) => p === -1).length >= 2);
  await new Promise((r) => setTimeout(r, 100));
  await w.stop();
  expect(handled).toEqual([11]);
});
