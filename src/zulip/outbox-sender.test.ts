import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../core/log';
import { systemClock } from '../core/clock';
import { RateLimiter } from '../core/rate-limiter';
import { openSqliteStore } from '../store/sqlite-store';
import { ZulipError, type StreamMessage } from './api';
import { OutboxSender } from './outbox-sender';
import { MemoryZulip } from '../../test/support/memory-zulip';

/** Zulip that accepts a message but loses the answer the first time. */
class LossyZulip extends MemoryZulip {
  lose = 1;
  posted: StreamMessage[] = [];
  override async sendStreamMessage(stream: string, topic: string, content: string): Promise<number> {
    this.posted.push({ id: this.posted.length + 1, streamId: 1, stream, topic, content, senderId: 1, senderEmail: 'sre-bot@example.org', senderName: 'SRE Bot', client: '', timestamp: 0 });
    if (this.lose-- > 0) throw new ZulipError('network', 'POST /messages', 'socket hang up');
    return this.posted.length;
  }
  override async latestMessages(): Promise<StreamMessage[]> {
    return this.posted;
  }
}

async function drain(sender: OutboxSender, store: { size(): number }) {
  sender.start();
  for (let i = 0; i < 200 && store.size() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  await sender.stop(100);
}

test('a message whose answer was lost is not sent twice', async () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'sre-out-')), 'bot.db'));
  const api = new LossyZulip();
  store.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'hello' }, Date.now());
  store.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'second' }, Date.now());
  const sender = new OutboxSender({ outbox: store, api, clock: systemClock, limiter: new RateLimiter(systemClock, 6000), log: silentLogger, selfEmail: 'sre-bot@example.org', random: () => 0 });
  await drain(sender, store);
  expect(api.posted.map((m) => m.content)).toEqual(['hello', 'second']);
  expect(store.size()).toBe(0);
});

test('after a restart the first queued message is checked before it is sent', async () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'sre-out-')), 'bot.db'));
  const api = new LossyZulip();
  api.lose = 0;
  // Delivered just before a crash, still in the outbox:
  api.posted.push({ id: 1, streamId: 1, stream: 'S', topic: 't', content: 'reminder', senderId: 1, senderEmail: 'sre-bot@example.org', senderName: 'SRE Bot', client: '', timestamp: 0 });
  store.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'reminder' }, Date.now());
  store.enqueue({ kind: 'message', stream: 'S', topic: 't', content: 'reminder' }, Date.now());
  const sender = new OutboxSender({ outbox: store, api, clock: systemClock, limiter: new RateLimiter(systemClock, 6000), log: silentLogger, selfEmail: 'sre-bot@example.org' });
  await drain(sender, store);
  // The first was already there; the second (a new, identical message) is sent.
  expect(api.posted.map((m) => m.content)).toEqual(['reminder', 'reminder']);
});
