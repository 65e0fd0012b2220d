/**
 * Sends what the bot has to say from the durable outbox: in order within each topic (and each
 * direct conversation), a few topics at once, within the shared rate limit, retrying failures
 * with backoff and honouring 429 retry-after. Every 5xx, timeout and network failure is retried;
 * only what Zulip refuses for good (a 4xx such as a stream that does not exist) is dropped,
 * logged with its content.
 *
 * Never twice. Zulip's send has no idempotency key, so each message carries its own: a send key
 * made from the outbox item (row id and creation time), invisible in the message (see
 * zulip-js-api.ts). When a send's fate is unknown — no answer, a cut or unreadable answer, a
 * 5xx, or a crash between Zulip taking it and the outbox forgetting it (the attempt is recorded
 * before each request) — the bot's newest messages there are searched for that key before the
 * item is sent again. An identical text from another item has another key: it is always sent.
 * A send that outlives the client timeout is not given up: its topic waits (up to `lateWaitMs`)
 * for the late answer while other topics go on, and only then is it looked for and sent again.
 * After a crash, or a send that failed without an answer (the connection broke), the item is
 * looked for at once; not found, it is looked for again `inFlightGraceMs` after that send started
 * (Zulip may still have been working on it) before it is sent. Reactions need none of this:
 * adding one that exists counts as done.
 */
import { createHash } from 'node:crypto';
import { backoffDelay, sleep } from '../core/async';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import type { RateLimiter } from '../core/rate-limiter';
import { splitMessage, ZULIP_MESSAGE_LIMIT } from '../core/text';
import type { CardStore, Outbox, OutboxRow, OutgoingItem } from '../store/store';
import type { ZulipApi } from './api';
import { SEND_KEY_ROOM, ZulipError } from './api';

export interface OutboxSenderDeps {
  outbox: Outbox;
  api: ZulipApi;
  clock: Clock;
  limiter: RateLimiter;
  log: Logger;
  random?: () => number;
  /** Called after each item Zulip accepted. */
  onSent?: (row: OutboxRow) => void;
  /** Where cards (messages kept up to date) are remembered; without it a card is posted each time. */
  cards?: Pick<CardStore, 'getCard' | 'putCard'>;
  /**
   * How long after posting the bot may edit a message (`zulip.editWindow`). Unset: the realm's
   * message_content_edit_limit_seconds once /register has said it (realmEditLimit), else 10 min.
   */
  editWindowMs?: number;
  /** The bot's own email: to find its messages again by their send keys (see `deliveredBefore`). */
  selfEmail?: string;
  /** Requests out at once, each for another topic or conversation. Default 4. */
  maxInFlight?: number;
  /** After the client timeout, how long a topic waits for a send's late answer. Default 45 s. */
  lateWaitMs?: number;
  /** How long after a send started a later process still expects Zulip may take it. Default 20 s. */
  inFlightGraceMs?: number;
}

/** How many of the oldest queued items each round looks at. */
const WINDOW = 100;
/**
 * Tokens of the shared rate limit only replies may spend: reminders, notices, card edits and bulk
 * go while more are left, so a person's reply (or a confirming reaction) never waits for a token
 * that an edit of a status card or a checklist took a moment before.
 */
const REPLY_RESERVE = 3;
/**
 * How many of the bot's newest messages in the topic (or conversation) are searched for a key.
 * An item looked for heads its topic's queue (nothing queued after it there has gone out), so
 * its message, if Zulip has it, is the bot's newest there or nearly (a topic moved into another
 * merges two queues).
 */
const LOOKUP_LIMIT = 50;

/** The store could not record the attempt: the send is not made (a crash would leave it unknown). */
class AttemptNotRecorded extends Error {}

/** Items of one lane go out one after the other, in order; lanes go out side by side. */
function laneOf(item: OutgoingItem): string {
  if (item.kind === 'message' || item.kind === 'card') return `m\u0000${item.stream}\u0000${item.topic.toLowerCase()}`;
  if (item.kind === 'direct') return `d\u0000${[...item.to].map((e) => e.toLowerCase()).sort().join(',')}`;
  return `r\u0000${item.messageId}`;
}

/** The send key of one piece of an outbox item: the same in every process, another for every item. */
function sendKey(row: OutboxRow, piece: number): string {
  const own = row.item.kind === 'message' ? row.item.key : undefined;
  if (own !== undefined && piece === 0) return own;
  return createHash('sha256').update(own !== undefined ? `${own}:${piece}` : `${row.id}:${row.createdAt}:${piece}`).digest('hex').slice(0, 12);
}

export class OutboxSender {
  private wake: (() => void) | undefined;
  /** The loop's wake-up timer and when it fires (clock time). */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** While idle: wake up at this time at the latest. */
  private idleAt: ((at: number) => void) | undefined;
  /** Rows being sent, by id, with their lane at the time. */
  private readonly busy = new Map<number, { lane: string; done: Promise<void> }>();
  /** Requests holding a place (a send waiting for a late answer gives its place up). */
  private inFlight = 0;
  /** Rows whose last send may have reached Zulip without the bot learning so. */
  private readonly uncertain = new Set<number>();
  /** Rows this process has looked at (a row tried by an earlier process is uncertain). */
  private readonly seen = new Set<number>();
  /** Rows whose last send got no answer: until when Zulip may still take it (not sent again before). */
  private readonly graceUntil = new Map<number, number>();
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** After stop(): late outcomes no longer touch the store (it may be closed). */
  private closed = false;
  private readonly maxInFlight: number;
  private readonly lateWaitMs: number;
  private readonly inFlightGraceMs: number;
  private editWindowMs: number;
  sent = 0;
  failures = 0;

  constructor(private readonly deps: OutboxSenderDeps) {
    this.maxInFlight = Math.max(1, deps.maxInFlight ?? 4);
    this.lateWaitMs = deps.lateWaitMs ?? 45_000;
    this.inFlightGraceMs = deps.inFlightGraceMs ?? 20_000;
    this.editWindowMs = editWindow(deps.editWindowMs ?? 600_000);
  }

  /**
   * The realm's edit limit as /register said it (seconds; 0 or null: no limit; undefined: not
   * said): it decides how long a card is edited, unless `zulip.editWindow` is set.
   */
  realmEditLimit(seconds: number | null | undefined): void {
    if (this.deps.editWindowMs !== undefined || seconds === undefined) return;
    this.editWindowMs = seconds === null || seconds <= 0 ? Number.POSITIVE_INFINITY : editWindow(seconds * 1000);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Something was queued (or a send ended): look at the outbox now rather than at the next wake-up. */
  kick(): void {
    this.wake?.();
  }

  /**
   * Something was queued to go at `at` (a held message): the sender looks then at the latest,
   * without a look at the outbox now (a storm queues thousands).
   */
  wakeAt(at: number): void {
    this.idleAt?.(at);
  }

  /**
   * Stops, after trying to send what is queued for at most `flushMs`. What is left stays queued;
   * what was on its way is looked for on the next start before it is sent again.
   */
  async stop(flushMs: number): Promise<void> {
    const { outbox } = this.deps;
    // Wall time, not the injected clock: a test's manual clock does not move while we wait.
    const deadline = Date.now() + flushMs;
    while (outbox.pending(1).length > 0 && Date.now() < deadline) {
      this.kick();
      await sleep(20);
    }
    this.stopping.abort();
    this.kick();
    await this.running;
    const left = deadline - Date.now();
    if (this.busy.size > 0 && left > 0) await Promise.race([Promise.allSettled([...this.busy.values()].map((b) => b.done)), sleep(left)]);
    this.closed = true;
  }

  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.idleAt = (at) => this.wakeUpBy(at);
      this.wakeUpBy(this.deps.clock.now() + ms);
    });
    this.wake = undefined;
    this.idleAt = undefined;
  }

  /**
   * The loop's timer fires at `at` at the latest. One timer lives across rounds: a kick wakes the
   * loop without clearing it, and a timer already due sooner is kept (an early wake-up only looks
   * at the outbox). A reply's round then sets and clears no timer: at rest each costs as much as
   * a statement.
   */
  private wakeUpBy(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.wake?.();
    }, Math.max(0, at - this.deps.clock.now()));
  }

  private async loop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let wait: number;
      try {
        wait = this.round();
      } catch (err) {
        this.deps.log.error({ err }, 'outbox round failed; trying again');
        wait = 1_000;
      }
      await this.idle(wait);
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts what may go now; returns how long to idle (a send ending or new item wakes it earlier). */
  private round(): number {
    const { outbox, clock, limiter } = this.deps;
    const rows = outbox.pending(WINDOW);
    // Nothing offered while the store cannot write (see Outbox.pending): look again soon.
    if (rows.length === 0) return outbox.size() > 0 ? 500 : 60_000;
    const now = clock.now();
    let wait = 60_000;
    const lanes = new Set<string>();
    for (const row of rows) {
      const lane = laneOf(row.item);
      const busy = this.busy.get(row.id);
      if (busy) {
        lanes.add(busy.lane).add(lane);
        continue;
      }
      if (lanes.has(lane)) continue; // an earlier item of its topic goes first
      lanes.add(lane);
      // An item an earlier process tried is looked for at once, whatever its time.
      const inherited = row.attempts > 0 && !this.seen.has(row.id);
      if (row.notBefore > now && !inherited) {
        wait = Math.min(wait, row.notBefore - now);
        continue;
      }
      if (this.inFlight >= this.maxInFlight) break; // a send ending wakes the loop
      const delay = limiter.delayFor(row.lane === undefined || row.lane === 'reply' ? 0 : REPLY_RESERVE);
      if (delay > 0) {
        wait = Math.min(wait, delay);
        break;
      }
      limiter.take();
      this.launch(row, lane);
    }
    return Math.max(1, wait);
  }

  private launch(row: OutboxRow, lane: string): void {
    this.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.kick();
    };
    const done = this.process(row, release)
      .catch((err: unknown) => this.deps.log.error({ err, outboxId: row.id }, 'outgoing item handling failed'))
      .finally(() => {
        release();
        this.busy.delete(row.id);
        this.kick();
      });
    this.busy.set(row.id, { lane, done });
  }

  private async process(row: OutboxRow, release: () => void): Promise<void> {
    const { outbox, log } = this.deps;
    const inherited = row.attempts > 0 && !this.seen.has(row.id);
    if (!this.seen.has(row.id)) {
      this.seen.add(row.id);
      if (inherited) {
        this.uncertain.add(row.id); // tried by an earlier process: maybe sent
        // Its time is when that send started plus the grace (see deliver's mark).
        if (row.notBefore > this.deps.clock.now()) this.graceUntil.set(row.id, row.notBefore);
      }
    }
    let outcome: 'delivered' | { waitUntil: number };
    try {
      outcome = await this.deliver(row, release);
    } catch (err) {
      if (err instanceof AttemptNotRecorded) {
        log.debug({ outboxId: row.id }, 'the store cannot record the attempt; the item waits until it can');
        return;
      }
      if (!this.closed) this.failed(row, err);
      return;
    }
    if (this.closed) return;
    if (outcome !== 'delivered') {
      // Not there yet, but a send that got no answer may still be under way at Zulip.
      outbox.reschedule(row.id, outcome.waitUntil, row.attempts);
      log.info({ outboxId: row.id, lookAgainInMs: outcome.waitUntil - this.deps.clock.now() }, 'outgoing item sent without an answer is not in Zulip yet; looking again before sending it');
      return;
    }
    outbox.remove(row.id);
    this.forget(row.id);
    this.sent++;
    this.deps.onSent?.(row);
    if (row.attempts > 0) log.debug({ outboxId: row.id, attempts: row.attempts + 1 }, 'outgoing item delivered after a retry');
  }

  private failed(row: OutboxRow, err: unknown): void {
    const { outbox, clock, limiter, log } = this.deps;
    this.failures++;
    if (err instanceof ZulipError && !err.retryable) {
      log.error({ err: err.message, code: err.code, status: err.status, item: row.item }, 'Zulip refused an outgoing item; dropped');
      outbox.remove(row.id);
      this.forget(row.id);
      return;
    }
    if (!(err instanceof ZulipError) || err.unclear) this.uncertain.add(row.id);
    const tries = row.attempts + 1;
    let ms = backoffDelay(tries - 1, this.deps.random ?? Math.random, 250, 30_000);
    if (err instanceof ZulipError && err.code === 'RATE_LIMIT_HIT') {
      ms = Math.max(250, (err.retryAfterSeconds ?? 1) * 1000);
      limiter.pause(ms);
    }
    // A stored time still ahead is an earlier send's grace (see deliver's mark): that send may land
    // until then, so the failure (a look-up's 5xx) keeps it. Shortened, a process killed now would
    // leave the next one to send at once, before the first send arrives.
    const graceEnd = row.attempts > 0 && row.notBefore > clock.now() ? row.notBefore : 0;
    outbox.reschedule(row.id, Math.max(clock.now() + ms, graceEnd), tries);
    log.warn({ err: (err as Error)?.message ?? String(err), status: err instanceof ZulipError ? err.status : undefined, outboxId: row.id, attempts: tries, retryInMs: ms }, 'sending to Zulip failed; will retry');
  }

  private forget(id: number): void {
    this.uncertain.delete(id);
    this.seen.delete(id);
    this.graceUntil.delete(id);
  }

  /** Waits for a token of the shared rate limit and spends it. */
  private async token(): Promise<void> {
    const { limiter } = this.deps;
    for (let delay = limiter.delayFor(); delay > 0; delay = limiter.delayFor()) await sleep(delay, this.stopping.signal);
    limiter.take();
  }

  /**
   * Sends the item (what of it Zulip does not have yet). `waitUntil`: a send that got no answer
   * (this process's, or a dead one's) is not in Zulip yet, within `inFlightGraceMs` of its start.
   */
  private async deliver(row: OutboxRow, release: () => void): Promise<'delivered' | { waitUntil: number }> {
    const { api, outbox, clock } = this.deps;
    const item = row.item;
    // Recorded before the first request of this attempt: after a crash the next process looks
    // for the item first, and expects it may still arrive until `inFlightGraceMs` from now.
    let marked = false;
    const mark = () => {
      if (marked) return;
      marked = true;
      outbox.reschedule(row.id, clock.now() + this.inFlightGraceMs, row.attempts + 1);
      // Not written (the store holds it and offers nothing meanwhile): no send it could not record.
      if (outbox.pending(1).length === 0) {
        outbox.reschedule(row.id, row.notBefore, row.attempts);
        throw new AttemptNotRecorded();
      }
    };
    // The round spent a token for the first request; each further one spends its own.
    let first = true;
    const token = async () => {
      if (first) first = false;
      else await this.token();
    };
    if (item.kind === 'reaction') {
      // No attempt recorded first: a reaction sent twice (after a crash) is one reaction.
      await token();
      await this.request(row, release, () => api.addReaction(item.messageId, item.emojiName));
      return 'delivered';
    }
    if (item.kind === 'card') {
      const card = this.deps.cards?.getCard(item.key);
      if (card && card.content === item.content) return 'delivered';
      const editable = card !== undefined && card.messageId > 0 && clock.now() - card.postedAt < this.editWindowMs;
      if (editable) {
        await token();
        mark();
        try {
          await api.editMessage(card.messageId, item.content);
          this.deps.cards?.putCard({ ...card, stream: item.stream, topic: item.topic, content: item.content });
          return 'delivered';
        } catch (err) {
          // Too late to edit, or the message is gone: a fresh card below. Trouble reaching Zulip: retried.
          if (!(err instanceof ZulipError) || err.retryable) throw err;
          this.deps.log.info({ key: item.key, err: err.message }, 'a card can no longer be edited; posting a fresh one');
          await this.token();
        }
      } else {
        await token();
      }
      mark();
      const sent = (await this.cardPost(row, release, item)) ?? 0;
      this.deps.cards?.putCard({ key: item.key, messageId: sent, stream: item.stream, topic: item.topic, content: item.content, postedAt: clock.now() });
      return 'delivered';
    }
    const pieces = splitMessage(item.content, ZULIP_MESSAGE_LIMIT - SEND_KEY_ROOM);
    const keys = pieces.map((_, i) => sendKey(row, i));
    let there = new Set<string>();
    if (this.uncertain.has(row.id) || (item.kind === 'message' && item.key !== undefined)) {
      await token();
      there = await this.deliveredBefore(item);
      if (keys.every((k) => there.has(k))) {
        this.deps.log.info({ outboxId: row.id }, 'outgoing message was already delivered before; not sending it twice');
        return 'delivered';
      }
      const until = this.graceUntil.get(row.id);
      if (until !== undefined && until > clock.now()) return { waitUntil: until };
      this.graceUntil.delete(row.id);
      if (this.uncertain.has(row.id)) this.deps.log.info({ outboxId: row.id, keys, found: there.size }, 'outgoing message tried before is not in Zulip; sending it');
    }
    for (const [i, piece] of pieces.entries()) {
      const key = keys[i] as string;
      if (there.has(key)) continue;
      await token();
      mark();
      await this.request(row, release, () =>
        item.kind === 'message' ? api.sendStreamMessage(item.stream, item.topic, piece, key) : api.sendDirectMessage(item.to, piece, key),
      );
      // Should a later piece fail, the pieces sent are found by their keys, not sent again.
      if (pieces.length > 1) this.uncertain.add(row.id);
    }
    return 'delivered';
  }

  /**
   * Posts a card's first message (or a fresh one) and returns its id. A post whose fate is unclear
   * is looked for by its send key first; found that way its id is unknown (0): the next update
   * posts a fresh card rather than risk editing the wrong message.
   */
  private async cardPost(row: OutboxRow, release: () => void, item: Extract<OutgoingItem, { kind: 'card' }>): Promise<number | undefined> {
    const key = sendKey(row, 0);
    if (this.uncertain.has(row.id)) {
      const there = await this.deliveredBefore(item);
      if (there.has(key)) return 0;
    }
    let id: number | undefined;
    await this.request(row, release, async () => {
      id = await this.deps.api.sendStreamMessage(item.stream, item.topic, item.content, key);
    });
    return id;
  }

  /** The send keys on the bot's newest messages where the item goes (none when it cannot look). */
  private async deliveredBefore(item: Exclude<OutgoingItem, { kind: 'reaction' }>): Promise<Set<string>> {
    const { api, selfEmail } = this.deps;
    if (!api.sentKeys || !selfEmail) return new Set();
    // The topic as queued now: the store moves queued items with their topic (as Zulip moves the messages).
    const where = item.kind === 'direct' ? { direct: item.to } : { stream: item.stream, topic: item.topic };
    return api.sentKeys(where, selfEmail, LOOKUP_LIMIT);
  }

  /**
   * One request. Past the client timeout Zulip may still be working on it: the place goes to
   * another topic, this one waits for the late answer (at most `lateWaitMs`); without one, the
   * timeout stands (the item is looked for before it is sent again).
   */
  private async request(row: OutboxRow, release: () => void, send: () => Promise<unknown>): Promise<void> {
    const started = this.deps.clock.now();
    try {
      await send();
    } catch (err) {
      // No answer at all: Zulip may still be working on it (not sent again before the grace).
      const unanswered = !(err instanceof ZulipError) || (err.unclear && err.status === undefined);
      if (unanswered) this.graceUntil.set(row.id, Math.max(this.graceUntil.get(row.id) ?? 0, started + this.inFlightGraceMs));
      if (!(err instanceof ZulipError) || err.kind !== 'timeout' || !err.late || this.stopping.signal.aborted) throw err;
      release();
      this.uncertain.add(row.id);
      this.deps.log.warn({ outboxId: row.id, err: err.message, waitMs: this.lateWaitMs }, 'Zulip is slow to answer a send; its topic waits for the late answer');
      const late = await Promise.race([
        err.late.then(() => 'answered' as const),
        sleep(this.lateWaitMs, this.stopping.signal).then(() => 'none' as const),
      ]);
      if (late === 'none') throw err;
      this.deps.log.info({ outboxId: row.id }, 'a slow send was answered late: delivered once');
    }
  }
}

/** A little under the limit (15 s, a quarter of a short one): an edit sent just in time may arrive late. */
function editWindow(limitMs: number): number {
  return Math.max(0, limitMs - Math.min(15_000, limitMs / 4));
}
