/**
 * What the fake Zulip saw, timed with performance.now() in the fake itself: when each message
 * event was written to a user's long-poll answer, and when each of that user's requests arrived.
 */
import { performance } from 'node:perf_hooks';
import type { FakeZulip, RequestLogEntry } from '../../test/support/fake-zulip';

export interface SeenRequest {
  method: string;
  path: string;
  status: number;
  /** performance.now() when the request arrived at the fake. */
  at: number;
  /** Epoch ms of the same instant. */
  epoch: number;
  /** Stream (`to`), topic and content of POST /messages. */
  to?: string;
  topic?: string;
  content?: string;
  /** For POST /messages/{id}/reactions. */
  reactionTo?: number;
}

export class Recorder {
  /** Message id → performance.now() when its event was first written to the user's long poll. */
  readonly released = new Map<number, number>();
  readonly requests: SeenRequest[] = [];
  firstRelease = Number.POSITIVE_INFINITY;
  /** Date.now() at the first release (to compare with the bot's pino times). */
  firstReleaseEpoch = 0;
  lastRelease = 0;
  /** The most message events one long-poll answer carried. */
  maxBatch = 0;
  private readonly reactionsTo = new Map<number, SeenRequest>();

  constructor(fake: FakeZulip, userEmail: string) {
    fake.onEventsReleased = (r) => {
      if (r.user !== userEmail) return;
      this.maxBatch = Math.max(this.maxBatch, r.events.length);
      for (const e of r.events) {
        const msg = e.message as { id?: unknown } | undefined;
        if (e.type !== 'message' || typeof msg?.id !== 'number' || this.released.has(msg.id)) continue;
        this.released.set(msg.id, r.at);
        if (this.firstReleaseEpoch === 0) this.firstReleaseEpoch = Date.now();
        if (r.at < this.firstRelease) this.firstRelease = r.at;
        if (r.at > this.lastRelease) this.lastRelease = r.at;
      }
    };
    fake.onRequest = (e: RequestLogEntry) => {
      if (e.user !== userEmail || e.arrivedAt === undefined) return;
      const seen: SeenRequest = { method: e.method, path: e.path, status: e.status, at: e.arrivedAt, epoch: performance.timeOrigin + e.arrivedAt };
      if (e.params.to !== undefined) seen.to = e.params.to;
      if (e.params.topic !== undefined) seen.topic = e.params.topic;
      if (e.params.content !== undefined) seen.content = e.params.content;
      const m = /^\/api\/v1\/messages\/(\d+)\/reactions$/.exec(e.path);
      if (m && e.method === 'POST') {
        seen.reactionTo = Number(m[1]);
        if (!this.reactionsTo.has(seen.reactionTo)) this.reactionsTo.set(seen.reactionTo, seen);
      }
      this.requests.push(seen);
    };
  }

  /** Release → arrival of the reaction to that message, in ms; undefined when either is missing. */
  reactionLatency(messageId: number): number | undefined {
    const rel = this.released.get(messageId);
    const r = this.reactionsTo.get(messageId);
    return rel === undefined || r === undefined ? undefined : r.at - rel;
  }

  /** The user's POST /messages into a topic, in arrival order. */
  postsInTopic(topic: string): SeenRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/messages' && r.topic === topic);
  }

  /** performance.now() of each message, reaction or message edit the user sent (what the bot's token bucket pays for). */
  sendTimes(): number[] {
    return this.requests
      .filter((r) => (r.method === 'POST' && (r.path === '/api/v1/messages' || r.reactionTo !== undefined)) || (r.method === 'PATCH' && r.path.startsWith('/api/v1/messages/')))
      .map((r) => r.at);
  }

  /** Waits until the user sent nothing for `quietMs` (an outbox with a backlog sends every 0.4 s). */
  async quiet(quietMs: number, timeoutMs: number): Promise<void> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const last = this.sendTimes().at(-1) ?? 0;
      const now = performance.now();
      if (now - last >= quietMs) return;
      if (now > until) throw new Error(`the bot kept sending for ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Requests that count against Zulip's rate limit (everything but the long poll). */
  limitedRequests(): SeenRequest[] {
    return this.requests.filter((r) => !(r.method === 'GET' && r.path === '/api/v1/events'));
  }
}

/**
 * Replays a token bucket (burst, perMinute, as src/core/rate-limiter.ts) over send times (ms):
 * the lowest level it had before a send, and its level at `at`.
 */
export function replayBucket(sendTimes: readonly number[], at: number, perMinute = 150, burst = 20): { low: number; now: number } {
  let tokens = burst;
  let last = sendTimes[0] ?? at;
  let low = burst;
  for (const t of sendTimes) {
    tokens = Math.min(burst, tokens + ((t - last) * perMinute) / 60_000);
    last = t;
    low = Math.min(low, tokens);
    tokens -= 1;
  }
  return { low, now: Math.min(burst, tokens + ((at - last) * perMinute) / 60_000) };
}
