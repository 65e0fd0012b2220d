/** The Zulip adapter's role: what the bot asks of Zulip, in the bot's words. */

export interface StreamMessage {
  id: number;
  streamId: number;
  stream: string;
  topic: string;
  content: string;
  senderId: number;
  senderEmail: string;
  senderName: string;
  client: string;
  /** Seconds since the epoch, as Zulip sends it. */
  timestamp: number;
}

/** A direct (private) message to the bot. */
export interface DirectMessage {
  id: number;
  senderId: number;
  senderEmail: string;
  senderName: string;
  content: string;
  timestamp: number;
}

export interface TopicMove {
  messageIds: number[];
  fromStreamId: number;
  toStreamId: number;
  fromTopic: string;
  toTopic: string;
  byUserId?: number;
}

/** An emoji reaction someone added to (or removed from) a message. */
export interface Reaction {
  op: 'add' | 'remove';
  messageId: number;
  /** Zulip's name of the emoji (`working_on_it`, `eyes`, `check`). */
  emojiName: string;
  userId: number;
}

export type ZulipEvent =
  | { id: number; kind: 'message'; message: StreamMessage }
  | { id: number; kind: 'direct'; message: DirectMessage }
  | { id: number; kind: 'topic-move'; move: TopicMove }
  /** A message's content edited (not a re-render). */
  | { id: number; kind: 'edit'; edit: { messageId: number; content: string; byUserId?: number } }
  /** Messages deleted. */
  | { id: number; kind: 'delete'; messageIds: number[] }
  | { id: number; kind: 'reaction'; reaction: Reaction }
  | { id: number; kind: 'heartbeat' }
  | { id: number; kind: 'other'; type: string };

export interface QueueRegistration {
  queueId: string;
  lastEventId: number;
  maxMessageId: number;
  longpollTimeoutSeconds: number;
  /** The realm's message_content_edit_limit_seconds (null: no limit); undefined when Zulip did not say. */
  editLimitSeconds?: number | null;
}

export interface Narrow {
  stream?: string;
  topic?: string;
  /** Sender email. */
  sender?: string;
}

export interface ZulipUser {
  id: number;
  email: string;
  fullName: string;
  isBot: boolean;
}

/** Code points a send key (see ZulipApi.sendStreamMessage) may add to a message's content. */
export const SEND_KEY_ROOM = 36;

/** Zulip's API as the bot uses it. Failures throw ZulipError. */
export interface ZulipApi {
  register(): Promise<QueueRegistration>;
  /** Long-polls; resolves with the events (heartbeats included). */
  getEvents(queueId: string, lastEventId: number): Promise<ZulipEvent[]>;
  /** The events after `lastEventId` without waiting (`dont_block`); none when there are none yet. */
  getEventsNow?(queueId: string, lastEventId: number): Promise<ZulipEvent[]>;
  /** Messages after `afterId` (exclusive), oldest first, at most `limit`. */
  getMessagesAfter(afterId: number, narrow: Narrow, limit: number): Promise<{ messages: StreamMessage[]; foundNewest: boolean }>;
  /** Messages before `beforeId` (exclusive; from the newest when undefined), oldest first, at most `limit`. */
  getMessagesBefore(beforeId: number | undefined, narrow: Narrow, limit: number): Promise<{ messages: StreamMessage[]; foundOldest: boolean }>;
  /** One stream message as it is now (its current stream and topic); undefined when it is gone. */
  getMessage(id: number): Promise<StreamMessage | undefined>;
  /** Renames the topic of `messageId` and every message in it (e.g. to mark it resolved). */
  renameTopic(messageId: number, newTopic: string): Promise<void>;
  /** The newest messages matching the narrow, oldest first, at most `limit`. */
  latestMessages(narrow: Narrow, limit: number): Promise<StreamMessage[]>;
  /**
   * Posts in a stream's topic. `key` (an outgoing item's own id, 1-16 hex digits) goes with the
   * message, invisible to readers, so that `sentKeys` can later tell whether Zulip has it.
   */
  sendStreamMessage(stream: string, topic: string, content: string, key?: string): Promise<number>;
  /** Replaces the content of one of the bot's messages (Zulip limits how long after posting). */
  editMessage(messageId: number, content: string): Promise<void>;
  /** Adds the bot's reaction; one it has already added counts as done. */
  addReaction(messageId: number, emojiName: string): Promise<void>;
  sendDirectMessage(toEmails: readonly string[], content: string, key?: string): Promise<number>;
  /**
   * The send keys on `senderEmail`'s newest `limit` messages in a topic or in the direct
   * conversation with those people. Absent where messages carry no keys (then a send whose fate
   * is unknown is sent again).
   */
  sentKeys?(where: { stream: string; topic: string } | { direct: readonly string[] }, senderEmail: string, limit: number): Promise<Set<string>>;
  /** Member user ids of the user group with that name; undefined when there is no such group. */
  groupMembers(name: string): Promise<number[] | undefined>;
  me(): Promise<ZulipUser>;
  user(id: number): Promise<ZulipUser>;
  /** Active users of the realm. */
  users(): Promise<ZulipUser[]>;
  /** Whether the user is subscribed to the stream (false when the stream does not exist). */
  isSubscribed(userId: number, stream: string): Promise<boolean>;
  streams(): Promise<{ id: number; name: string }[]>;
}

export type ZulipErrorKind =
  /** Zulip answered with an error body: see `code` and `status`. */
  | 'api'
  /** No answer, a broken connection, a non-JSON answer (proxy 5xx). */
  | 'network'
  /** No answer within the time allowed. */
  | 'timeout';

export interface ZulipErrorDetails {
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  /**
   * A request that timed out may still be answered: this settles with that late answer (resolves
   * when Zulip accepted it, rejects with a ZulipError otherwise). Only on `timeout` errors.
   */
  late?: Promise<void>;
  /** The request never reached Zulip (connection refused, unknown host): not `unclear`. */
  notSent?: boolean;
}

export class ZulipError extends Error {
  /** The HTTP status of the answer, when there was one (zulip-js hides it; see zulip-js-api.ts). */
  readonly status: number | undefined;
  /** See ZulipErrorDetails.late. */
  readonly late: Promise<void> | undefined;
  /** See ZulipErrorDetails.notSent. */
  readonly notSent: boolean;

  constructor(
    readonly kind: ZulipErrorKind,
    readonly endpoint: string,
    message: string,
    readonly code?: string,
    readonly retryAfterSeconds?: number,
    details: ZulipErrorDetails = {},
  ) {
    super(`${endpoint}: ${message}`);
    this.name = 'ZulipError';
    this.status = details.status;
    this.late = details.late;
    this.notSent = details.notSent === true;
  }

  /**
   * Worth trying again later: network trouble, timeouts, rate limits, and every server error
   * (5xx, whatever its body: Zulip answers its internal errors with a JSON error body). Only a
   * 4xx refusal is for good (a stream that does not exist, a bad request).
   */
  get retryable(): boolean {
    if (this.kind !== 'api') return true;
    if (this.code === 'RATE_LIMIT_HIT' || this.status === 429 || this.status === 408) return true;
    return this.status !== undefined && this.status >= 500;
  }

  /**
   * Zulip may have carried the request out although the bot did not learn so: no answer, a cut or
   * unreadable one, or a server error (a proxy's 502 after Zulip committed). A 4xx refusal and a
   * rate limit mean it was not carried out.
   */
  get unclear(): boolean {
    if (this.notSent) return false;
    return this.kind !== 'api' || (this.status !== undefined && this.status >= 500);
  }
}
