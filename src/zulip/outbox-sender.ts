/**
 * Sends what the bot has to say, in order, from the durable outbox: within the rate limit,
 * retrying failures with backoff, honouring 429 retry-after. Nothing is dropped except what
 * Zulip refuses for good (logged with its content).
 */
import { backoffDelay, sleep } from '../core/async';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import type { RateLimiter } from '../core/rate-limiter';
import type { Outbox, OutboxRow } from '../store/store';
import type { ZulipApi } from './api';
import { ZulipError } from './api';

export interface OutboxSenderDeps {
  outbox: Outbox;
  api: ZulipApi;
  clock: Clock;
  limiter: RateLimiter;
  log: Logger;
  random?: () => number;
  /** Called after each item Zulip accepted. */
  onSent?: (row: OutboxRow) => void;
  /** The bot's own email: to look for a message Zulip may already have (see `deliveredBefore`). */
  selfEmail?: string;
}

export class OutboxSender {
  private wake: (() => void) | undefined;
  /** Rows whose last send failed without saying whether Zulip took it. */
  private readonly uncertain = new Set<number>();
  /** The first row after start may have been sent just before a crash. */
  private firstRow = true;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  sent = 0;
  failures = 0;

  constructor(private readonly deps: OutboxSenderDeps) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Something was queued: send it now rather than at the next wake-up. */
  kick(): void {
    this.wake?.();
  }

  /** Stops, after trying to send what is queued for at most `flushMs`. What is left stays queued. */
  async stop(flushMs: number): Promise<void> {
    const deadline = this.deps.clock.now() + flushMs;
    while (this.deps.outbox.peek() && this.deps.clock.now() < deadline) {
      this.kick();
      await sleep(20);
    }
    this.stopping.abort();
    this.kick();
    await this.running;
  }

  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  private async loop(): Promise<void> {
    const { outbox, clock, limiter, log } = this.deps;
    let attempt = 0;
    while (!this.stopping.signal.aborted) {
      const row = outbox.peek();
      if (!row) {
        await this.idle(60_000);
        continue;
      }
      const wait = Math.max(row.notBefore - clock.now(), limiter.delayFor());
      if (wait > 0) {
        await this.idle(wait);
        continue;
      }
      limiter.take();
      try {
        await this.send(row);
        outbox.remove(row.id);
        this.uncertain.delete(row.id);
        this.sent++;
        attempt = 0;
        this.deps.onSent?.(row);
      } catch (err) {
        this.failures++;
        if (err instanceof ZulipError && !err.retryable) {
          log.error({ err: err.message, code: err.code, item: row.item }, 'Zulip refused an outgoing item; dropped');
          outbox.remove(row.id);
          continue;
        }
        if (err instanceof ZulipError && err.kind !== 'api') this.uncertain.add(row.id);
        let ms = backoffDelay(attempt++, this.deps.random ?? Math.random, 250, 30_000);
        if (err instanceof ZulipError && err.code === 'RATE_LIMIT_HIT') {
          ms = Math.max(250, (err.retryAfterSeconds ?? 1) * 1000);
          limiter.pause(ms);
        }
        outbox.reschedule(row.id, clock.now() + ms, row.attempts + 1);
        log.warn({ err: (err as Error).message, outboxId: row.id, attempts: row.attempts + 1, retryInMs: ms }, 'sending to Zulip failed; will retry');
        await this.idle(ms);
      }
    }
  }

  /**
   * Zulip's send has no idempotency key. When a send's fate is unknown — its answer was lost, or
   * the bot was killed between Zulip accepting it and the outbox forgetting it — look at the bot's
   * newest messages in that topic before sending it again.
   */
  private async deliveredBefore(row: OutboxRow): Promise<boolean> {
    const item = row.item;
    if (item.kind !== 'message' || !this.deps.selfEmail) return false;
    const recent = await this.deps.api.latestMessages({ stream: item.stream, topic: item.topic, sender: this.deps.selfEmail }, 20);
    const want = item.content.trim();
    return recent.some((m) => m.content.trim() === want || (want.length > 9_900 && m.content.startsWith(want.slice(0, 9_000))));
  }

  private async send(row: OutboxRow): Promise<void> {
    if (this.firstRow) {
      this.firstRow = false;
      this.uncertain.add(row.id);
    }
    // The look-up is a request too: it spends a token of the rate limit like any other.
    if (this.uncertain.has(row.id) && (this.deps.limiter.take(), await this.deliveredBefore(row))) {
      this.uncertain.delete(row.id);
      this.deps.log.info({ outboxId: row.id }, 'outgoing message was already delivered before; not sending it twice');
      return;
    }
    const item = row.item;
    if (item.kind === 'message') await this.deps.api.sendStreamMessage(item.stream, item.topic, item.content);
    else if (item.kind === 'reaction') await this.deps.api.addReaction(item.messageId, item.emojiName);
    else await this.deps.api.sendDirectMessage(item.to, item.content);
  }
}
