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

export type ZulipEvent =
  | { id: number; kind: 'message'; message: StreamMessage }
  | { id: number; kind: 'direct'; message: DirectMessage }
  | { id: number; kind: 'topic-move'; move: TopicMove }
  | { id: number; kind: 'heartbeat' }
  | { id: number; kind: 'other'; type: string };

export interface QueueRegistration {
  queueId: string;
  lastEventId: number;
  maxMessageId: number;
  longpollTimeoutSeconds: number;
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

/** Zulip's API as the bot uses it. Failures throw ZulipError. */
export interface ZulipApi {
  register(): Promise<QueueRegistration>;
  /** Long-polls; resolves with the events (heartbeats included). */
  getEvents(queueId: string, lastEventId: number): Promise<ZulipEvent[]>;
  /** Messages after `afterId` (exclusive), oldest first, at most `limit`. */
  getMessagesAfter(afterId: number, narrow: Narrow, limit: number): Promise<{ messages: StreamMessage[]; foundNewest: boolean }>;
  /** The newest messages matching the narrow, oldest first, at most `limit`. */
  latestMessages(narrow: Narrow, limit: number): Promise<StreamMessage[]>;
  sendStreamMessage(stream: string, topic: string, content: string): Promise<number>;
  addReaction(messageId: number, emojiName: string): Promise<void>;
  sendDirectMessage(toEmails: readonly string[], content: string): Promise<number>;
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
  /** Zulip answered with an error body: see `code`. */
  | 'api'
  /** No answer, a broken connection, a non-JSON answer (proxy 5xx). */
  | 'network'
  /** No answer within the time allowed. */
  | 'timeout';

export class ZulipError extends Error {
  constructor(
    readonly kind: ZulipErrorKind,
    readonly endpoint: string,
    message: string,
    readonly code?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${endpoint}: ${message}`);
    this.name = 'ZulipError';
  }

  /** Worth trying again later: network trouble, timeouts, rate limits, server errors. */
  get retryable(): boolean {
    return this.kind !== 'api' || this.code === 'RATE_LIMIT_HIT';
  }
}
