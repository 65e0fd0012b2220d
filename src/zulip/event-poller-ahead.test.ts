/**
 * Humans first (issue 17): a read-only command is answered ahead of the alerts queued before it —
 * in its batch, or fetched (without waiting) while a long batch is handled. The position still
 * moves in message-id order, and the command is not handled twice.
 */
import { silentLogger } from '../core/log';
import type { DirectMessage, StreamMessage, ZulipApi, ZulipEvent } from './api';
import { EventPoller } from './event-poller';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function msg(id: number, content: string, sender = 'zabbix@example.org'): StreamMessage {
  return { id, streamId: 1, stream: 'SRE # Critical', topic: `t${id}`, content, senderId: sender === 'zabbix@example.org' ? 9 : 2, senderEmail: sender, senderName: 'x', client: 'test', timestamp: 1 };
}
const alertEv = (id: number): ZulipEvent => ({ id, kind: 'message', message: msg(id, 'PROBLEM …') });
const cmdEv = (id: number, content = '!ongoing'): ZulipEvent => ({ id, kind: 'message', message: msg(id, content, 'ann@example.org') });

function run(batches: ZulipEvent[][], opts: { busyMs?: number; later?: ZulipEvent[]; failOnce?: number } = {}) {
  const handled: number[] = [];
  const cursorSets: number[] = [];
  let stored: number | undefined = 0;
  const nowFetches: number[] = [];
  let later = opts.later;
  let failed = false;
  const api = {
    register: async () => ({ queueId: 'q', lastEventId: -1, maxMessageId: 0, longpollTimeoutSeconds: 90 }),
    getMessagesAfter: async () => ({ messages: [], foundNewest: true }),
    getEvents: async () => {
      const next = batches.shift();
      if (next) return next;
      await sleep(20);
      return [];
    },
    getEventsNow: async (_q: string, last: number) => {
      nowFetches.push(last);
      const l = later;
      later = undefined;
      return l ?? [];
    },
  } as unknown as ZulipApi;
  let poller: EventPoller;
  const handle = (m: StreamMessage | DirectMessage) => {
    if (opts.failOnce === m.id && !failed) {
      failed = true;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the store's error class
      const { StoreUnavailableError } = require('../store/errors') as typeof import('../store/errors');
      throw new StoreUnavailableError('SQLITE_FULL', 'database or disk is full');
    }
    handled.push(m.id);
    // A command's commit stores the position with it, unless it is handled ahead (see app.ts).
    if (m.content.startsWith('!') && !poller.handlingAhead(m.id)) cursorSets.push(m.id);
    if (opts.busyMs) {
      const until = Date.now() + opts.busyMs;
      while (Date.now() < until) {
        /* an alert's work */
      }
    }
  };
  poller = new EventPoller({
    api,
    sink: { onMessage: handle, onTopicMove: () => {}, onDirectMessage: handle },
    cursor: { get: () => stored, set: (id) => void (stored = Math.max(stored ?? 0, id)) },
    streams: ['SRE # Critical'],
    log: silentLogger,
    random: () => 0,
    backoff: { baseMs: 10, maxMs: 20 },
    urgent: (m) => m.content === '!ongoing' || m.content === '!fr',
  });
  const stop = new AbortController();
  const running = poller.run(stop.signal);
  return {
    handled,
    cursorSets,
    nowFetches,
    stored: () => stored,
    async until(cond: () => boolean) {
      const end = Date.now() + 10_000;
      while (!cond()) {
        if (Date.now() > end) throw new Error('timed out');
        await sleep(5);
      }
    },
    async stop() {
      stop.abort();
      await running;
    },
  };
}

test('a read-only command in a batch of alerts is handled first; the position moves in order; once only', async () => {
  const batch = [...Array.from({ length: 50 }, (_, k) => alertEv(k + 1)), cmdEv(51), alertEv(52), cmdEv(53, '!ack')];
  const w = run([batch]);
  await w.until(() => w.handled.length === 53 && w.stored() === 53);
  await w.stop();
  expect(w.handled[0]).toBe(51);
  // `!ack` is not read-only: in its turn.
  expect(w.handled.slice(1)).toEqual([...Array.from({ length: 50 }, (_, k) => k + 1), 52, 53]);
  expect(w.handled.filter((id) => id === 51)).toHaveLength(1);
  // Handled ahead, the command stored no position of its own (the batch did, at its end).
  expect(w.cursorSets).toEqual([53]);
});

test('a command that arrives while a long batch is handled is answered before the batch ends', async () => {
  const batch = Array.from({ length: 400 }, (_, k) => alertEv(k + 1)); // 2 ms each: 800 ms
  const w = run([batch], { busyMs: 2, later: [cmdEv(401, '!fr'), alertEv(402)] });
  await w.until(() => w.handled.length === 402);
  await w.stop();
  const at = w.handled.indexOf(401);
  expect(at).toBeGreaterThan(0);
  expect(at).toBeLessThan(200); // fetched within about 100 ms, not after the 400 alerts
  expect(w.handled.filter((id) => id === 401)).toHaveLength(1);
  expect(w.handled.indexOf(402)).toBe(401); // the rest in order, after the batch
  expect(w.nowFetches.length).toBeGreaterThan(0);
  expect(w.nowFetches[0]).toBe(400); // everything received so far acknowledged
  expect(w.stored()).toBe(402);
});

test('a store failure after a command was answered ahead: the batch is handled again, the command not', async () => {
  const batch = [alertEv(1), alertEv(2), cmdEv(3), alertEv(4)];
  const w = run([batch, batch], { failOnce: 2 });
  await w.until(() => w.stored() === 4);
  await w.stop();
  expect(w.handled).toEqual([3, 1, 2, 4]);
});
