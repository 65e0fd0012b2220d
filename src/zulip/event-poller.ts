/**
 * The Zulip event loop: register a queue, catch up on what was missed from history, long-poll,
 * and start again on BAD_EVENT_QUEUE_ID. The last processed message id is persisted only after
 * the message was handled, so a crash replays rather than loses.
 */
import { backoffDelay, sleep, untilAborted } from '../core/async';
import type { Logger } from '../core/log';
import { isStoreError } from '../store/errors';
import type { DirectMessage, QueueRegistration, Reaction, StreamMessage, TopicMove, ZulipApi, ZulipEvent } from './api';
import { ZulipError } from './api';

export interface EventSink {
  onMessage(message: StreamMessage): Promise<void> | void;
  onTopicMove(move: TopicMove): Promise<void> | void;
  onDirectMessage(message: DirectMessage): Promise<void> | void;
  /** An emoji reaction added or removed (no message of its own: the position does not move). */
  onReaction?(reaction: Reaction): Promise<void> | void;
  /** A message's content edited (an alert post edited to OK). */
  onMessageEdit?(edit: { messageId: number; content: string; byUserId?: number }): Promise<void> | void;
  /** Messages deleted (an alert post deleted). */
  onMessagesDeleted?(messageIds: number[]): Promise<void> | void;
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
  /** Called on the first start of a store (no position yet), with the newest message id then. */
  onFirstStart?: (maxMessageId: number) => void;
  /** Called when the backfill is done and the bot is polling live. */
  onLive?: () => void;
  /** Each queue registered (what /register said: e.g. the realm's edit limit). */
  onRegistered?: (queue: QueueRegistration) => void;
  /**
   * Messages whose handling is idempotent by message id (alert posts): on start, the catch-up
   * also reads back those of the last seconds before the stored position — an event that came
   * after a higher id's and had not arrived when the previous process ended. (Commands are not
   * read back: below the stored position a new process cannot tell which it answered.)
   */
  replayable?: (message: StreamMessage) => boolean;
  /**
   * Humans first (issue 17): messages that may be handled ahead of the alerts queued before them
   * in a batch — read-only commands (`!ongoing`, `!fr`…), whose answer depends on no earlier
   * message. Handled at once when their batch (or one fetched while a long batch is handled)
   * arrives; the position moves past them only when the batch reaches them in order, and they are
   * not handled again then. (A crash before that answers them again.)
   */
  urgent?: (message: StreamMessage | DirectMessage) => boolean;
}

const PAGE = 1000;
/** A long batch lets the rest of the bot run (the outbox sender, the scheduler) at least this often. */
const YIELD_EVERY_MS = 10;
/**
 * …and looks for new events (a person's command among them is answered at once) this often. (It
 * also keeps a storm's answers small: one long-poll answer of 5,000 events costs more memory than
 * its events fetched a few hundred at a time.)
 */
const FETCH_EVERY_MS = 50;
/** During a catch-up, the position is stored at least every this many messages. */
const FLUSH_EVERY = 200;
/** How many handled message ids are remembered (to tell a late message from a replay). */
const REMEMBER = 10_000;
/**
 * A new queue's catch-up reads back from the position this long ago: a message event still on
 * its way when the old queue ended (it came after a higher id's) is found there.
 */
const LOOK_BACK_MS = 60_000;
/** On start, replayable posts this many seconds before the stored position are read back. */
const START_LOOK_BACK_S = 10;
/** …at most this many messages per stream. */
const START_LOOK_BACK_MESSAGES = 50;

export class EventPoller {
  readonly status: PollerStatus = { registrations: 0, consecutiveFailures: 0 };
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: { baseMs: number; maxMs: number };
  /** The last handled message id, in memory; stored after each batch (see flush). */
  private position: number | undefined;
  private unflushed = 0;
  /** Store failures in a row (the sink's or the position's): the retry backoff. */
  private storeFailures = 0;
  /**
   * Message ids handled by this process above `handledFloor`: a message event that arrives after
   * a higher id (out of order) is handled unless it is here. At or below the floor (the stored
   * position at start, raised as old ids are forgotten) it counts as handled.
   */
  private readonly handled = new Set<number>();
  private handledFloor: number | undefined;
  /** Messages whose handling threw (a store failure): handled if the stored position reached them (a command commits with it). */
  private readonly attempted = new Set<number>();
  /** GET /events refused in a row (an unknown last_event_id): re-registrations back off. */
  private refusedPolls = 0;
  /** The positions stored, with when (for LOOK_BACK_MS), oldest first. */
  private readonly stored: { at: number; position: number }[] = [];
  /** This process has caught up once (the start look-back is done). */
  private started = false;
  /** Messages handled ahead of their batch's order (`urgent`), by id, until the batch reaches them. */
  private readonly ahead = new Set<number>();
  /** The message being handled ahead now (its command must not store the position). */
  private aheadNow: number | undefined;

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
        this.handledFloor ??= this.position ?? queue.maxMessageId;
        this.status.registrations++;
        this.deps.log.info({ queueId: queue.queueId, maxMessageId: queue.maxMessageId }, 'registered Zulip event queue');
        this.deps.onRegistered?.(queue);
        await this.backfill(queue.maxMessageId, signal);
        this.sample();
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
        if (err instanceof ZulipError && err.kind === 'api' && !err.retryable) {
          // Zulip refuses this poll for good — e.g. `last_event_id` is an id it never issued
          // ("Event N was not in this queue"): asking again only gets the same answer until the
          // queue expires. A new queue, and the catch-up from history, bring back what was missed.
          this.refusedPolls++;
          this.deps.log.warn({ queueId, lastEventId: last, err: err.message, code: err.code, status: err.status }, 'Zulip refused the event poll; registering a new queue and catching up');
          if (this.refusedPolls > 1) await this.wait(err, 'events', signal);
          return;
        }
        await this.wait(err, 'events', signal);
        continue;
      }
      if (!events) return;
      this.status.consecutiveFailures = 0;
      this.refusedPolls = 0;
      try {
        // Acknowledged (`last`) only as far as every event up to it was dispatched: a store
        // failure mid-batch hands the rest again.
        const byId = [...events].sort((a, b) => a.id - b.id);
        // The events in the order they are handled; each is let go once handled (a storm's batch is large).
        const order: (ZulipEvent | undefined)[] = inMessageIdOrder(byId);
        // Event ids in id order, and those dispatched: `last` moves over the first run of dispatched ones.
        const ids = byId.map((e) => e.id);
        byId.length = 0;
        const dispatched = new Set<number>();
        let acked = 0;
        // What Zulip has handed so far (events fetched while this batch is handled are added).
        let received = Math.max(last, ids.at(-1) ?? last);
        let yieldedAt = this.now();
        let fetchedAt = yieldedAt;
        await this.handleAhead(order, 0);
        for (let i = 0; i < order.length; i++) {
          const event = order[i] as ZulipEvent;
          await this.dispatch(event);
          order[i] = undefined;
          dispatched.add(event.id);
          for (; acked < ids.length && dispatched.delete(ids[acked] as number); acked++) last = Math.max(last, ids[acked] as number);
          // A long batch (a storm) lets the sender and the scheduler run, and looks for new
          // events: a person's command among them is answered now, not after the storm.
          if (this.now() - yieldedAt < YIELD_EVERY_MS) continue;
          await new Promise<void>((r) => setImmediate(r));
          yieldedAt = this.now();
          if (yieldedAt - fetchedAt < FETCH_EVERY_MS || i === order.length - 1 || signal.aborted) continue;
          fetchedAt = yieldedAt;
          const more = await this.fetchMore(queueId, received);
          if (more.length === 0) continue;
          const sorted = [...more].sort((a, b) => a.id - b.id);
          received = Math.max(received, sorted.at(-1)?.id ?? received);
          for (const e of sorted) ids.push(e.id);
          order.push(...inMessageIdOrder(sorted));
          await this.handleAhead(order, i + 1);
        }
        // What the batch queued to send leaves first: a request goes out on the event loop's next
        // turn (node's http writes in a nextTick), after this chain's work, the position and the
        // next poll's request otherwise.
        await new Promise<void>((r) => setImmediate(r));
        this.flush();
        this.storeFailures = 0;
      } catch (err) {
        if (!isStoreError(err)) throw err;
        // Intake stops: `last` stays before the event that failed, so the next poll hands it
        // (and what came after it) again; the position has not moved past it.
        await this.storeWait(err, signal);
      }
    }
  }

  /** The events Zulip has after `received`, without waiting (none when it cannot say now: the next poll gets them). */
  private async fetchMore(queueId: string, received: number): Promise<ZulipEvent[]> {
    const { api } = this.deps;
    if (!api.getEventsNow) return [];
    try {
      return await api.getEventsNow(queueId, received);
    } catch (err) {
      this.deps.log.debug({ err: (err as Error).message }, 'looking for new events during a long batch failed; the next poll gets them');
      return [];
    }
  }

  /**
   * Humans first: the urgent messages among `order[from…]` that have other messages before them
   * are handled now (see `urgent`). A store failure leaves them to their turn.
   */
  private async handleAhead(order: readonly (ZulipEvent | undefined)[], from: number): Promise<void> {
    const { urgent } = this.deps;
    if (!urgent) return;
    for (let i = from + 1; i < order.length; i++) {
      const e = order[i];
      if (!e || (e.kind !== 'message' && e.kind !== 'direct')) continue;
      const m = e.message;
      if (this.ahead.has(m.id) || (this.position !== undefined && m.id <= this.position) || !urgent(m)) continue;
      this.aheadNow = m.id;
      try {
        if (e.kind === 'direct') await this.deps.sink.onDirectMessage(e.message);
        else await this.deps.sink.onMessage(e.message);
      } catch (err) {
        if (isStoreError(err)) return; // handled in its turn, once the store writes
        this.deps.log.error({ err, messageId: m.id }, 'message handling failed; skipped');
      } finally {
        this.aheadNow = undefined;
      }
      this.ahead.add(m.id);
      this.deps.log.debug({ messageId: m.id }, 'command answered ahead of the alerts queued before it');
    }
  }

  /** Whether this message is being handled ahead of its batch's order (its command stores no position: the batch does, in order). */
  handlingAhead(messageId: number): boolean {
    return this.aheadNow === messageId;
  }

  /**
   * The store could not write: wait (backoff, at most 5 s) before the same message is tried
   * again, then take the stored position (a command whose answer and position were committed
   * before a later step failed is not run twice).
   */
  private async storeWait(err: Error, signal: AbortSignal): Promise<void> {
    const failures = ++this.storeFailures;
    const ms = backoffDelay(failures - 1, this.random, 250, 5_000);
    this.deps.log.warn({ err: err.message, failures, retryInMs: ms }, 'the store cannot write: intake waits and handles the same message again');
    await sleep(ms, signal);
    try {
      const stored = this.deps.cursor.get();
      if (stored !== undefined && (this.position === undefined || stored > this.position)) this.position = stored;
    } catch {
      // unreadable too: the retry finds out
    }
  }

  /** Reads back, stream by stream, the messages after the cursor up to the new queue's start. */
  private async backfill(maxMessageId: number, signal: AbortSignal): Promise<void> {
    const cursor = this.deps.cursor.get();
    if (cursor === undefined) {
      // Told before the position is stored: a crash in between makes the next start a first start again.
      this.deps.onFirstStart?.(maxMessageId);
      this.deps.cursor.set(maxMessageId);
      this.position = maxMessageId;
      this.started = true;
      this.deps.log.info({ maxMessageId }, 'first start: tracking messages from now on');
      return;
    }
    // On start: alert posts of the last seconds before the cursor, handled again (idempotent).
    const replays = this.started ? [] : await this.startLookBack(cursor);
    this.started = true;
    // Within a process, from a little before the cursor: an event that came after a higher id's
    // may have been on its way when the old queue ended. What was handled is not handled again.
    const from = Math.min(cursor, this.lookBackFrom() ?? cursor);
    const missed: StreamMessage[] = [];
    for (const stream of from < maxMessageId ? this.deps.streams : []) {
      let after = from;
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
    const late = missed.filter((m) => m.id <= cursor && !this.handledBefore(m.id));
    const after = missed.filter((m) => m.id > cursor);
    if (from < maxMessageId || replays.length > 0) {
      this.deps.log.info({ from: cursor, to: maxMessageId, messages: after.length, ...(from < cursor ? { lookedBackTo: from, late: late.length } : {}) }, 'caught up on missed messages');
    }
    const below = [...replays.map((m) => ({ m, replay: true })), ...late.filter((m) => !replays.some((r) => r.id === m.id)).map((m) => ({ m, replay: false }))].sort((a, b) => a.m.id - b.m.id);
    for (const { m, replay } of below) {
      if (!replay) this.deps.log.warn({ messageId: m.id }, 'message missing from the event queue found in history; handling it');
      await this.handleBelow(m);
    }
    for (const m of after) {
      await this.take(m);
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
    if (event.kind === 'message') return this.take(event.message);
    if (event.kind === 'direct') return this.take(event.message, () => this.deps.sink.onDirectMessage(event.message));
    if (event.kind === 'edit' || event.kind === 'delete') {
      // Like a topic move: no message of its own; acknowledged with the batch.
      try {
        if (event.kind === 'edit') await this.deps.sink.onMessageEdit?.(event.edit);
        else await this.deps.sink.onMessagesDeleted?.(event.messageIds);
      } catch (err) {
        if (isStoreError(err)) throw err;
        this.deps.log.error({ err, eventId: event.id }, `message ${event.kind} handling failed; skipped`);
      }
    }
    if (event.kind === 'topic-move') {
      try {
        await this.deps.sink.onTopicMove(event.move);
      } catch (err) {
        if (isStoreError(err)) throw err; // not skipped: the poll loop waits and tries it again
        this.deps.log.error({ err, eventId: event.id }, 'topic move handling failed; skipped');
      }
    }
    // Like a topic move: no message id of its own, so it is acknowledged with the batch (the
    // event id), not the position; reactions made while the bot was away are not read back.
    if (event.kind === 'reaction' && this.deps.sink.onReaction) {
      try {
        await this.deps.sink.onReaction(event.reaction);
      } catch (err) {
        if (isStoreError(err)) throw err;
        this.deps.log.error({ err, eventId: event.id, messageId: event.reaction.messageId }, 'reaction handling failed; skipped');
      }
    }
  }

  /**
   * The error boundary: one bad message is logged and skipped, never fatal. A store failure is
   * not the message's fault: it is thrown on, the position stays before the message, and the
   * poll loop (or a new registration's catch-up) handles it again once the store writes.
   */
  private async handleMessage(message: StreamMessage | DirectMessage, handle = () => this.deps.sink.onMessage(message as StreamMessage)): Promise<void> {
    if (this.position !== undefined && message.id <= this.position) return;
    try {
      await handle();
    } catch (err) {
      if (isStoreError(err)) throw err;
      this.deps.log.error({ err, messageId: message.id, ...('stream' in message ? { stream: message.stream, topic: message.topic } : { direct: true }) }, 'message handling failed; skipped');
    }
    this.position = message.id;
    this.unflushed++;
  }

  /**
   * Handles a message once: in order through the error boundary (handleMessage); one below the
   * position (its event came after a higher id's) is handled late unless it was handled already.
   */
  private async take(message: StreamMessage | DirectMessage, handle?: () => Promise<void> | void): Promise<void> {
    if (this.ahead.delete(message.id)) {
      // Handled ahead of its batch (`urgent`): now the position moves past it.
      if (this.position === undefined || message.id > this.position) {
        this.position = message.id;
        this.unflushed++;
      }
      this.remember(message.id);
      return;
    }
    if (this.position !== undefined && message.id <= this.position) return this.late(message, handle);
    await this.attempt(message, () => this.handleMessage(message, handle));
  }

  /** Runs the handling; remembers the message as handled, or as attempted when it threw. */
  private async attempt(message: StreamMessage | DirectMessage, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.attempted.add(message.id);
      throw err;
    }
    this.attempted.delete(message.id);
    this.remember(message.id);
  }

  /**
   * A message event that came after a higher message id's (Zulip does not promise id order
   * across senders). Handled now, unless handled already (a replay is idempotent anyway: alerts
   * are recognised by message id; a command's reply is committed with the position, so one
   * handled is below it and in `handled`); then the SRE streams are read back from there for
   * others like it.
   */
  private async late(message: StreamMessage | DirectMessage, handle?: () => Promise<void> | void): Promise<void> {
    const position = this.position;
    if (this.handledFloor !== undefined && message.id <= this.handledFloor && !this.handled.has(message.id)) {
      this.deps.log.warn({ messageId: message.id, position }, 'message event older than the position this process started from; assumed handled before');
      return;
    }
    if (this.handledBefore(message.id)) return;
    this.deps.log.warn({ messageId: message.id, position }, 'message event arrived after a higher message id; handling it and reading back what else came late');
    await this.handleBelow(message, handle);
    if ('stream' in message && this.deps.streams.includes(message.stream)) await this.fillFromHistory(message.id);
  }

  /** Runs handleMessage for a message below the position (which it would skip); the position stays. */
  private async handleBelow(message: StreamMessage | DirectMessage, handle?: () => Promise<void> | void): Promise<void> {
    const high = this.position;
    this.position = message.id - 1;
    try {
      await this.attempt(message, () => this.handleMessage(message, handle));
    } finally {
      this.position = Math.max(high ?? -Infinity, this.position ?? -Infinity);
    }
  }

  /** Handles the SRE streams' messages after `afterId` up to the position that were not handled. */
  private async fillFromHistory(afterId: number): Promise<void> {
    const upTo = this.position ?? afterId;
    const found: StreamMessage[] = [];
    try {
      for (const stream of this.deps.streams) {
        let after = afterId;
        for (;;) {
          const page = await this.deps.api.getMessagesAfter(after, { stream }, PAGE);
          found.push(...page.messages.filter((m) => m.id <= upTo));
          const lastId = page.messages.at(-1)?.id;
          if (page.foundNewest || lastId === undefined || lastId >= upTo) break;
          after = lastId;
        }
      }
    } catch (err) {
      if (!(err instanceof ZulipError)) throw err;
      // Best effort: a message still late arrives as an event of its own and is handled then.
      this.deps.log.warn({ err: err.message, afterId }, 'reading back after a late message failed');
    }
    for (const m of found.sort((a, b) => a.id - b.id)) {
      if (this.handledBefore(m.id)) continue;
      this.deps.log.warn({ messageId: m.id }, 'message missing from the event queue found in history; handling it');
      await this.handleBelow(m);
    }
  }

  /**
   * On start: the replayable posts (alerts) of the last START_LOOK_BACK_S seconds up to the stored
   * position, to hand again — each is recognised by its message id if it was handled before.
   */
  private async startLookBack(cursor: number): Promise<StreamMessage[]> {
    const { replayable, api } = this.deps;
    if (!replayable || typeof api.getMessagesBefore !== 'function') return [];
    const found: StreamMessage[] = [];
    for (const stream of this.deps.streams) {
      const page = await api.getMessagesBefore(cursor + 1, { stream }, START_LOOK_BACK_MESSAGES);
      found.push(...page.messages.filter((m) => m.id <= cursor));
    }
    const newest = Math.max(0, ...found.map((m) => m.timestamp));
    const replays = found.filter((m) => m.timestamp >= newest - START_LOOK_BACK_S && replayable(m)).sort((a, b) => a.id - b.id);
    if (replays.length > 0) this.deps.log.info({ position: cursor, replays: replays.length }, 'on start: alert posts just before the position handled again (an event may not have arrived before the previous process ended)');
    return replays;
  }

  /**
   * Whether a message below the position was handled: by this process (`handled`), before it
   * (at or below the floor), or committed with the position although a later step failed.
   */
  private handledBefore(messageId: number): boolean {
    if (this.handled.has(messageId)) return true;
    if (this.handledFloor !== undefined && messageId <= this.handledFloor) return true;
    if (this.attempted.has(messageId)) {
      // Its handling failed on the store: committed if the stored position reached it.
      const stored = this.deps.cursor.get();
      if (stored !== undefined && messageId <= stored) {
        this.attempted.delete(messageId);
        this.remember(messageId);
        return true;
      }
    }
    return false;
  }

  /** The position stored LOOK_BACK_MS ago (or the oldest this process stored); undefined before any. */
  private lookBackFrom(): number | undefined {
    const since = this.now() - LOOK_BACK_MS;
    while (this.stored.length > 1 && (this.stored[1] as { at: number }).at <= since) this.stored.shift();
    const from = this.stored[0]?.position;
    return from === undefined ? undefined : Math.max(from, this.handledFloor ?? from);
  }

  private remember(messageId: number): void {
    this.handled.add(messageId);
    if (this.handled.size <= REMEMBER) return;
    // Forget the oldest half; the floor rises over them.
    const ids = [...this.handled].sort((a, b) => a - b);
    for (const id of ids.slice(0, REMEMBER / 2)) this.handled.delete(id);
    this.handledFloor = Math.max(this.handledFloor ?? -Infinity, ids[REMEMBER / 2 - 1] as number);
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
    this.sample();
  }

  /** Notes the position for the look-back: one sample a second (the first: a look-back from it reads a little more, never less). */
  private sample(): void {
    if (this.position === undefined) return;
    const last = this.stored.at(-1);
    if (!last || this.now() - last.at >= 1_000) this.stored.push({ at: this.now(), position: this.position });
    this.lookBackFrom(); // drops what is older than needed
  }

  private async wait(err: unknown, what: string, signal: AbortSignal): Promise<void> {
    const failures = ++this.status.consecutiveFailures;
    let ms = backoffDelay(failures - 1, this.random, this.backoff.baseMs, this.backoff.maxMs);
    if (err instanceof ZulipError && err.code === 'RATE_LIMIT_HIT') ms = Math.max(ms, (err.retryAfterSeconds ?? 1) * 1000);
    this.deps.log.warn({ err: (err as Error)?.message ?? String(err), failures, retryInMs: ms }, `Zulip ${what} failed; retrying`);
    await sleep(ms, signal);
  }
}

/**
 * The batch with its message events in message-id order (each takes the place of one, so topic
 * moves keep theirs): Zulip may queue a lower message id after a higher one.
 */
function inMessageIdOrder(events: readonly ZulipEvent[]): ZulipEvent[] {
  const isMessage = (e: ZulipEvent) => e.kind === 'message' || e.kind === 'direct';
  const messages = events.filter(isMessage).sort((a, b) => messageIdOf(a) - messageIdOf(b));
  let i = 0;
  return events.map((e) => (isMessage(e) ? (messages[i++] as ZulipEvent) : e));
}

function messageIdOf(e: ZulipEvent): number {
  return e.kind === 'message' || e.kind === 'direct' ? e.message.id : 0;
}
