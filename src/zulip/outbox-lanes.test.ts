/**
 * The outbox's priority lanes (issue 17): replies to people first, then reminders and warnings,
 * then bulk notices. A reply queued behind 1,000 bulk notices goes out next; within a lane the
 * order is kept; every lane spends the one shared rate limit.
 */
import { silentLogger } from '../core/log';
import { systemClock } from '../core/clock';
import { RateLimiter } from '../core/rate-limiter';
import { openSqliteStore } from '../store/sqlite-store';
import type { Lane, Store } from '../store/store';
import { OutboxSender } from './outbox-sender';
import { OutboxSpeaker } from './speaker';
import { MemoryZulip } from '../../test/support/memory-zulip';
import { tempDbPath } from '../../test/support/temp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Zulip as the sender sees it: every request in the order it was made, with when. */
class Recording extends MemoryZulip {
  readonly requests: { at: number; kind: 'message' | 'reaction' | 'direct'; where: string; content: string }[] = [];
  override async sendStreamMessage(stream: string, topic: string, content: string): Promise<number> {
    this.requests.push({ at: Date.now(), kind: 'message', where: `${stream}>${topic}`, content });
    await sleep(1);
    return this.requests.length;
  }
  override async sendDirectMessage(to: readonly string[], content: string): Promise<number> {
    this.requests.push({ at: Date.now(), kind: 'direct', where: to.join(','), content });
    return this.requests.length;
  }
  override async addReaction(messageId: number, emojiName: string): Promise<void> {
    this.requests.push({ at: Date.now(), kind: 'reaction', where: String(messageId), content: emojiName });
  }
}

function world(perMinute: number, burst?: number) {
  const store: Store = openSqliteStore(tempDbPath('sre-lanes-'));
  const api = new Recording();
  const limiter = new RateLimiter(systemClock, perMinute, burst);
  const sender = new OutboxSender({ outbox: store, api, clock: systemClock, limiter, log: silentLogger });
  const speaker = new OutboxSpeaker(store, systemClock, () => sender.kick());
  return { store, api, sender, speaker };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

test('a reply queued after 1,000 bulk notices goes out next; bulk keeps its order; one rate limit for all', async () => {
  // 1,200 requests a minute (20 a second), bursts of 20: the bulk backlog keeps the bucket empty.
  const { store, api, sender, speaker } = world(1_200, 20);
  for (let i = 0; i < 1_000; i++) speaker.say('SRE ## Non-critical', `host-${i % 10}`, `checklist ${i}`, 'bulk');
  const t0 = Date.now();
  sender.start();
  await until(() => api.requests.length >= 40); // the burst is spent: bulk now goes at the bucket's pace
  const before = api.requests.length;
  speaker.say('SRE - General', 'ongoing', 'the reply', 'reply');
  speaker.say('SRE ## Non-critical', 'host-3', 'a reply in a topic with bulk queued', 'reply');
  await until(() => api.requests.some((r) => r.content === 'a reply in a topic with bulk queued'));
  const at = (content: string) => api.requests.findIndex((r) => r.content === content);
  // At most the sends already on their way (maxInFlight 4) go before the replies.
  expect(at('the reply') - before).toBeLessThanOrEqual(4);
  expect(at('a reply in a topic with bulk queued') - before).toBeLessThanOrEqual(5);
  await until(() => api.requests.length >= 120);
  await sender.stop(0);
  // Within the bulk lane: the order they were queued in, overall and per topic.
  const bulk = api.requests.filter((r) => r.content.startsWith('checklist ')).map((r) => Number(r.content.slice('checklist '.length)));
  expect(bulk).toEqual([...bulk].sort((a, b) => a - b));
  for (let t = 0; t < 10; t++) {
    const mine = bulk.filter((n) => n % 10 === t);
    expect(mine).toEqual([...mine].sort((a, b) => a - b));
  }
  expect(new Set(bulk).size).toBe(bulk.length);
  // Shared limit: no more than the burst plus the refill over the whole run, replies included.
  const elapsed = (api.requests.at(-1)!.at - t0) / 1000;
  expect(api.requests.length).toBeLessThanOrEqual(20 + Math.ceil(elapsed * 20) + 1);
  store.close();
});

test('replies before reminders before bulk; order kept within each lane', async () => {
  const { store, api, sender, speaker } = world(6_000);
  const queued: [Lane, string][] = [
    ['bulk', 'b1'], ['notice', 'n1'], ['bulk', 'b2'], ['reply', 'r1'], ['notice', 'n2'], ['reply', 'r2'], ['bulk', 'b3'],
  ];
  // One topic each, so only the lanes decide the order (not which topic is free).
  for (const [lane, content] of queued) speaker.say('S', `t-${content}`, content, lane);
  speaker.react(42, 'check'); // reactions are confirmations: they go with the replies
  sender.start();
  await until(() => api.requests.length === queued.length + 1);
  await sender.stop(0);
  expect(api.requests.map((r) => r.content)).toEqual(['r1', 'r2', 'check', 'n1', 'n2', 'b1', 'b2', 'b3']);
  store.close();
});

test('a reply waits for no bulk notice even when the rate limit is exhausted: it takes the next token', async () => {
  // 60 a minute, bursts of 2: one token a second.
  const { store, api, sender, speaker } = world(60, 2);
  for (let i = 0; i < 50; i++) speaker.say('S', `bulk-${i % 5}`, `bulk ${i}`, 'bulk');
  sender.start();
  await until(() => api.requests.length >= 3);
  const asked = Date.now();
  speaker.say('S', 'reply', 'reply!', 'reply');
  await until(() => api.requests.some((r) => r.content === 'reply!'), 5_000);
  const answered = api.requests.find((r) => r.content === 'reply!')!.at;
  expect(answered - asked).toBeLessThan(1_500); // the next token, not after 47 bulk notices (47 s)
  await sender.stop(0);
  store.close();
});
