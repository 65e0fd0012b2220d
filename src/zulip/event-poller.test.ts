/**
 * The event poller's ordering: message events out of message-id order (in one batch, or a lower
 * id in a later batch) are all handled, once; an event id Zulip refuses brings a new queue.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../core/log';
import type { StreamMessage, ZulipApi, ZulipEvent } from './api';
import { ZulipError } from './api';
import { EventPoller } from './event-poller';

const STREAM = 'SRE # Critical';

function msg(id: number): StreamMessage {
  return { id, streamId: 1, stream: STREAM, topic: 'web-01', content: `message ${id}`, senderId: 5, senderEmail: 'ann@example.org', senderName: 'Ann', client: 'test', timestamp: 1 };
}

const ev = (id: number, messageId: number): ZulipEvent => ({ id, kind: 'message', message: msg(messageId) });

interface Script {
  /** Batches handed out in turn, one per poll of the current queue (then the poll waits). */
  batches: ZulipEvent[][];
  /** Zulip's history of the SRE stream. */
  history?: StreamMessage[];
  /** Polls refused as with an unknown last_event_id. */
  refuse?: (last: number, queue: number) => boolean;
}

function run(script: Script, cursor = 10) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  const handled: number[] = [];
  const reactions: string[] = [];
  const registrations: number[] = [];
  const polls: { queue: number; last: number }[] = [];
  let stored: number | undefined = cursor;
  let queue = 0;
  const api = {
    register: async () => {
      registrations.push(Date.now());
      queue++;
      return { queueId: `q${queue}`, lastEventId: -1, maxMessageId: cursor, longpollTimeoutSeconds: 90 };
    },
    getMessagesAfter: async (after: number) => ({ messages: (script.history ?? []).filter((m) => m.id > after), foundNewest: true }),
    getEvents: async (_q: string, last: number) => {
      polls.push({ queue, last });
      if (script.refuse?.(last, queue)) throw new ZulipError('api', 'GET /events', `Event ${last} was not in this queue`, 'BAD_REQUEST', undefined, { status: 400 });
      const next = script.batches.shift();
      if (next) return next;
      await new Promise((r) => setTimeout(r, 20));
      return [];
    },
  } as unknown as ZulipApi;
  const poller = new EventPoller({
    api,
    sink: {
      onMessage: (m) => void handled.push(m.id),
      onTopicMove: () => {},
      onDirectMessage: () => {},
      onReaction: (r) => {
        if (r.emojiName === 'bomb') throw new Error('a module bug');
        reactions.push(`${r.op} ${r.emojiName} on ${r.messageId} by ${r.userId}`);
      },
    },
    cursor: { get: () => stored, set: (id) => void (stored = Math.max(stored ?? 0, id)) },
    streams: [STREAM],
    log,
    random: () => 0,
    backoff: { baseMs: 50, maxMs: 100 },
  });
  const stop = new AbortController();
  const running = poller.run(stop.signal);
  return {
    lines,
    handled,
    reactions,
    registrations,
    polls,
    stored: () => stored,
    async until(what: string, cond: () => boolean) {
      const end = Date.now() + 5_000;
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

test('one batch with message ids out of order: every message is handled, lowest id first', async () => {
  const w = run({ batches: [[ev(1, 14), ev(2, 12), ev(3, 13)]] });
  await w.until('handled', () => w.handled.length === 3);
  await w.until('stored', () => w.stored() === 14);
  await w.stop();
  expect(w.handled).toEqual([12, 13, 14]);
});

test('reactions go to the sink in their place among the messages; they move no position; a failing one is logged and skipped', async () => {
  const react = (id: number, messageId: number, emojiName: string, op: 'add' | 'remove' = 'add'): ZulipEvent => ({ id, kind: 'reaction', reaction: { op, messageId, emojiName, userId: 5 } });
  const w = run({ batches: [[ev(1, 12), react(2, 12, 'working_on_it'), react(3, 12, 'bomb'), react(4, 12, 'working_on_it', 'remove'), ev(5, 13)]] });
  await w.until('handled', () => w.handled.length === 2 && w.reactions.length === 2);
  await w.until('stored', () => w.stored() === 13);
  await new Promise((r) => setTimeout(r, 50));
  await w.stop();
  expect(w.handled).toEqual([12, 13]);
  expect(w.reactions).toEqual(['add working_on_it on 12 by 5', 'remove working_on_it on 12 by 5']);
  expect(w.lines.filter((l) => l.msg === 'reaction handling failed; skipped').map((l) => l.messageId)).toEqual([12]);
  // The batch was acknowledged past every event in it: the next poll asks after the last one.
  expect(w.polls.at(-1)?.last).toBe(5);
});

test('a lower message id in a later batch is handled late; history fills what else came late; nothing twice', async () => {
  // 12 and 13 come after 14; history has 12, 13, 14 (13's event comes last, after the fill).
  const w = run({ batches: [[ev(1, 14)], [ev(2, 12)], [ev(3, 13), ev(4, 14)], [ev(5, 15)]], history: [msg(12), msg(13), msg(14), msg(15)] });
  await w.until('handled', () => w.handled.includes(15));
  await new Promise((r) => setTimeout(r, 50));
  await w.stop();
  expect(w.handled).toEqual([14, 12, 13, 15]);
  expect(w.lines.filter((l) => /arrived after a higher message id/.test(String(l.msg))).map((l) => l.messageId)).toEqual([12]);
  expect(w.lines.filter((l) => /found in history/.test(String(l.msg))).map((l) => l.messageId)).toEqual([13]);
  expect(w.stored()).toBe(15);
});

test('an event still on its way when the queue ended is found by the new queue\'s catch-up (it looks back), once', async () => {
  // 12's event would come after 14's, but the queue expires first; 13 was handled before.
  const history = [msg(12), msg(13), msg(14), msg(15)];
  let queue = 0;
  let polls = 0;
  const handled: number[] = [];
  let stored: number | undefined = 10;
  const api = {
    register: async () => ({ queueId: `q${++queue}`, lastEventId: -1, maxMessageId: queue === 1 ? 10 : 15, longpollTimeoutSeconds: 90 }),
    getMessagesAfter: async (after: number) => ({ messages: history.filter((m) => m.id > after && m.id <= (queue === 1 ? 10 : 15)), foundNewest: true }),
    getEvents: async () => {
      polls++;
      if (queue === 1 && polls === 1) return [ev(1, 13), ev(2, 14)];
      if (queue === 1) throw new ZulipError('api', 'GET /events', 'Bad event queue ID', 'BAD_EVENT_QUEUE_ID', undefined, { status: 400 });
      await new Promise((r) => setTimeout(r, 20));
      return [];
    },
  } as unknown as ZulipApi;
  const poller = new EventPoller({
    api,
    sink: { onMessage: (m) => void handled.push(m.id), onTopicMove: () => {}, onDirectMessage: () => {} },
    cursor: { get: () => stored, set: (id) => void (stored = Math.max(stored ?? 0, id)) },
    streams: [STREAM],
    log: createLogger('silent'),
    random: () => 0,
  });
  const stop = new AbortController();
  const running = poller.run(stop.signal);
  const end = Date.now() + 5_000;
  while (!handled.includes(15) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  stop.abort();
  await running;
  expect(handled).toEqual([13, 14, 12, 15]);
  expect(stored).toBe(15);
});

test('on start, alert posts of the last seconds before the stored position are handed again (idempotent); commands are not', async () => {
  const zabbix = (id: number, timestamp: number): StreamMessage => ({ ...msg(id), senderEmail: 'zabbix@example.org', timestamp });
  const history = [zabbix(5, 100), zabbix(17, 195), { ...msg(18), timestamp: 198 }, zabbix(19, 199), zabbix(20, 200)];
  const handled: number[] = [];
  const api = {
    register: async () => ({ queueId: 'q1', lastEventId: -1, maxMessageId: 20, longpollTimeoutSeconds: 90 }),
    getMessagesAfter: async (after: number) => ({ messages: history.filter((m) => m.id > after), foundNewest: true }),
    getMessagesBefore: async (before: number, _n: unknown, limit: number) => ({ messages: history.filter((m) => m.id < before).slice(-limit), foundOldest: true }),
    getEvents: async () => {
      await new Promise((r) => setTimeout(r, 20));
      return [];
    },
  } as unknown as ZulipApi;
  const poller = new EventPoller({
    api,
    sink: { onMessage: (m) => void handled.push(m.id), onTopicMove: () => {}, onDirectMessage: () => {} },
    cursor: { get: () => 20, set: () => {} },
    streams: [STREAM],
    log: createLogger('silent'),
    replayable: (m) => m.senderEmail === 'zabbix@example.org',
  });
  const stop = new AbortController();
  const running = poller.run(stop.signal);
  await new Promise((r) => setTimeout(r, 100));
  stop.abort();
  await running;
  // 17, 19 and 20 are alert posts within 10 s of the newest; 18 is a command; 5 is too old.
  expect(handled).toEqual([17, 19, 20]);
});

test('a message at or below the position the process started from is not handled again', async () => {
  const w = run({ batches: [[ev(1, 9)], [ev(2, 11)]] }, 10);
  await w.until('handled', () => w.handled.includes(11));
  await w.stop();
  expect(w.handled).toEqual([11]);
  expect(w.lines.some((l) => l.messageId === 9 && /assumed handled before/.test(String(l.msg)))).toBe(true);
});

test('a poll Zulip refuses (an event id it never issued) brings a new queue; refusals in a row back off', async () => {
  // The first queue refuses every poll after its first batch, the second its first two polls.
  const w = run({
    batches: [[{ id: 1_000_007, kind: 'heartbeat' }], [ev(1, 11)]],
    refuse: (last, queue) => (queue === 1 && last === 1_000_007) || (queue === 2 && w.polls.filter((p) => p.queue === 2).length <= 1) || (queue === 3 && w.polls.filter((p) => p.queue === 3).length <= 1),
  });
  await w.until('handled on a later queue', () => w.handled.includes(11));
  await w.stop();
  expect(w.registrations.length).toBe(4);
  // The first refusal re-registers at once; the ones in a row after it wait (backoff 50-100 ms here).
  const gaps = w.registrations.slice(1).map((t, i) => t - (w.registrations[i] as number));
  expect(gaps[1]).toBeGreaterThanOrEqual(40);
  expect(w.lines.filter((l) => l.msg === 'Zulip refused the event poll; registering a new queue and catching up')).toHaveLength(3);
});
