/**
 * The Zulip event loop: register a queue, catch up on what was missed from history, long-poll,
 * and start again on BAD_EVENT_QUEUE_ID. The last processed message id is persisted only after
 * the message was handled, so a crash replays rather than loses.
 */
import { backoffDelay, sleep, untilAborted } from '../core/async';
import type { Logger } from '../core/log';
import type { DirectMessage, StreamMessage, TopicMove, ZulipApi, ZulipEvent } from './api';
import { ZulipError } from './api';

export interface EventSink {
  onMessage(message: StreamMessage): Promise<void> | void;
  onTopicMove(move: TopicMove): Promise<void> | void;
  onDirectMessage(message: DirectMessage): Promise<void> | void;
}

/** Where the last processed message id is kept. */
export interface MessageCursor {
  get(): number | undefined;
  set(messageId: number): void;
}

export interface PollerStatus {
  queueId?: string;
  registrations: number;
  /** When a long-poll last started or returned. */
  lastPollAt?: number;
  consecutiveFailures: number;
}

export interface EventPollerDeps {
  api: ZulipApi;
  sink: EventSink;
  cursor: MessageCursor;
  /** Streams whose history is read back after downtime or an expired queue. */
  streams: readonly string[];
  log: Logger;
  now?: () => number;
  random?: () => number;
  backoff?: { baseMs: number; maxMs: number };
  /** Called when the backfill is done and the bot is polling live. */
  onLive?: () => void;
}

const PAGE = 1000;
/** During a catch-up, the position is stored at least every this many messages. */
const FLUSH_EVERY = 200;

export class EventPoller {
  readonly status: PollerStatus = { registrations: 0, consecutiveFailures: 0 };
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: { baseMs: number; maxMs: number };
  /** The last handled message id, in memory; stored after each batch (see flush). */
  private position: number | undefined;
  private unflushed = 0;

  constructor(private readonly deps: EventPollerDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.backoff = deps.backoff ?? { baseMs: 500, maxMs: 30_000 };
  }

  /** Runs until the signal aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let queue;
      try {
        queue = await untilAborted(this.deps.api.register(), signal);
        if (!queue) return;
        this.status.queueId = queue.queueId;
        this.position = this.deps.cursor.get();
        this.status.registrations++;
        this.deps.log.info({ queueId: queue.queueId, maxMessageId: queue.maxMessageId }, 'registered Zulip event queue');
        await this.backfill(queue.maxMessageId, signal);
        this.status.consecutiveFailures = 0;
        this.deps.onLive?.();
      } catch (err) {
        await this.wait(err, 'register', signal);
        continue;
      }
      await this.poll(queue.queueId, queue.lastEventId, signal);
    }
  }

  /** Long-polls one queue until it expires (returns) or the signal aborts. */
  private async poll(queueId: string, lastEventId: number, signal: AbortSignal): Promise<void> {
    let last = lastEventId;
    while (!signal.aborted) {
      let events: ZulipEvent[] | undefined;
      try {
        this.status.lastPollAt = this.now();
        events = await untilAborted(this.deps.api.getEvents(queueId, last), signal);
        this.status.lastPollAt = this.now();
      } catch (err) {
        if (err instanceof ZulipError && err.code === 'BAD_EVENT_QUEUE_ID') {
          this.deps.log.warn({ queueId }, 'Zulip event queue expired; registering a new one and catching up');
          return;
        }
        await this.wait(err, 'events', signal);
        continue;
      }
      if (!events) return;
      this.status.consecutiveFailures = 0;
      for (const event of [...events].sort((a, b) => a.id - b.id)) {
        await this.dispatch(event);
        last = Math.max(last, event.id);
      }
      this.flush();
    }
  }

  /** Reads back, stream by stream, the messages after the cursor up to the new queue's start. */
  private async backfill(maxMessageId: number, signal: AbortSignal): Promise<void> {
    const cursor = this.deps.cursor.get();
    if (cursor === undefined) {
      this.deps.cursor.set(maxMessageId);
      this.position = maxMessageId;
      this.deps.log.info({ maxMessageId }, 'first start: tracking messages from now on');
      return;
    }
    if (cursor >= maxMessageId) return;
    const missed: StreamMessage[] = [];
    for (const stream of this.deps.streams) {
      let after = cursor;
      for (;;) {
        if (signal.aborted) return;
        const page = await this.deps.api.getMessagesAfter(after, { stream }, PAGE);
        const upTo = page.messages.filter((m) => m.id <= maxMessageId);
        missed.push(...upTo);
        const lastId = page.messages.at(-1)?.id;
        if (page.foundNewest || lastId === undefined || lastId >= maxMessageId || page.messages.length === 0) break;
        after = lastId;
      }
    }
    missed.sort((a, b) => a.id - b.id);
    this.deps.log.info({ from: cursor, to: maxMessageId, messages: missed.length }, 'caught up on missed messages');
    for (const m of missed) {
      await this.handleMessage(m);
      if (this.unflushed >= FLUSH_EVERY) this.flush();
    }
    // Nothing in the SRE streams after the last one: the position moves to where the queue starts.
    if ((this.position ?? 0) < maxMessageId) {
      this.position = maxMessageId;
      this.unflushed++;
    }
    this.flush();
  }

  private async dispatch(event: ZulipEvent): Promise<void> {
    if (event.kind === 'message') return this.handleMessage(event.message);
    if (event.kind === 'direct') return this.handleMessage(event.message, () => this.deps.sink.onDirectMessage(event.message));
    if (event.kind === 'topic-move') {
      try {
        await this.deps.sink.onTopicMove(event.move);
      } catch (err) {
        this.deps.log.error({ err, eventId: event.id }, 'topic move handling failed; skipped');
      }
    }
  }

  /** The error boundary: one bad message is logged and skipped, never fatal. */
  private async handleMessage(message: StreamMessage | DirectMessage, handle = () => this.deps.sink.onMessage(message as StreamMessage)): Promise<void> {
    if (this.position !== undefined && message.id <= this.position) return;
    try {
      await handle();
    } catch (err) {
      this.deps.log.error({ err, messageId: message.id, ...('stream' in message ? { stream: message.stream, topic: message.topic } : { direct: true }) }, 'message handling failed; skipped');
    }
    this.position = message.id;
    this.unflushed++;
  }

  /**
   * Stores the position (one write per batch, not per message). A crash before it replays the
   * batch's tail: handling is idempotent for that (alerts are recognised by message id, commands
   * store their replies together with the position).
   */
  private flush(): void {
    if (this.unflushed === 0 || this.position === undefined) return;
    this.deps.cursor.set(this.position);
    this.unflushed = 0;
  }

  private async wait(err: unknown, what: string, signal: AbortSignal): Promise<void> {
    const failures = ++this.status.consecutiveFailures;
    let ms = backoffDelay(failures - 1, this.random, this.backoff.baseMs, this.backoff.maxMs);
    if (err instanceof ZulipError && err.code === 'RATE_LIMIT_HIT') ms = Math.max(ms, (err.retryAfterSeconds ?? 1) * 1000);
    this.deps.log.warn({ err: (err as Error)?.message ?? String(err), failures, retryInMs: ms }, `Zulip ${what} failed; retrying`);
    await sleep(ms, signal);
  }
}
