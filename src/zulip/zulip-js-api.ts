/**
 * The Zulip adapter over zulip-js: the only importer of zulip-js. It adds what zulip-js lacks:
 * request timeouts, error codes as typed errors, validation of answers, string-encoded params.
 */
import zulipInit = require('zulip-js');
import { z } from 'zod';
import type { Narrow, QueueRegistration, StreamMessage, ZulipApi, ZulipEvent, ZulipUser } from './api';
import { ZulipError } from './api';

export interface ZulipCredentials {
  site?: string;
  email?: string;
  apiKey?: string;
  zuliprc?: string;
}

const errorBody = z.object({ result: z.literal('error'), msg: z.string().default(''), code: z.string().optional(), 'retry-after': z.number().optional() });

const messageWire = z.object({
  id: z.number(),
  type: z.string(),
  stream_id: z.number().optional(),
  display_recipient: z.unknown(),
  subject: z.string().default(''),
  content: z.string(),
  sender_id: z.number(),
  sender_email: z.string(),
  sender_full_name: z.string(),
  client: z.string().default(''),
  timestamp: z.number(),
});

const registerWire = z.object({
  queue_id: z.string(),
  last_event_id: z.number(),
  max_message_id: z.number().default(0),
  event_queue_longpoll_timeout_seconds: z.number().optional(),
});

const eventWire = z.looseObject({ id: z.number(), type: z.string() });
const updateMessageWire = z.looseObject({
  message_ids: z.array(z.number()).default([]),
  orig_subject: z.string().optional(),
  subject: z.string().optional(),
  stream_id: z.number().optional(),
  new_stream_id: z.number().optional(),
  user_id: z.number().nullable().optional(),
});

/** A stream message from the wire, or undefined for private messages. */
export function toStreamMessage(raw: unknown): StreamMessage | undefined {
  const m = messageWire.safeParse(raw);
  if (!m.success || m.data.type !== 'stream' || typeof m.data.display_recipient !== 'string') return undefined;
  return {
    id: m.data.id,
    streamId: m.data.stream_id ?? 0,
    stream: m.data.display_recipient,
    topic: m.data.subject,
    content: m.data.content,
    senderId: m.data.sender_id,
    senderEmail: m.data.sender_email,
    senderName: m.data.sender_full_name,
    client: m.data.client,
    timestamp: m.data.timestamp,
  };
}

export function toEvent(raw: unknown): ZulipEvent | undefined {
  const e = eventWire.safeParse(raw);
  if (!e.success) return undefined;
  const { id, type } = e.data;
  if (type === 'heartbeat') return { id, kind: 'heartbeat' };
  if (type === 'message') {
    const raw = (e.data as Record<string, unknown>).message;
    const message = toStreamMessage(raw);
    if (message) return { id, kind: 'message', message };
    const dm = messageWire.safeParse(raw);
    if (dm.success && dm.data.type === 'private') {
      const { id: mid, sender_id, sender_email, sender_full_name, content, timestamp } = dm.data;
      return { id, kind: 'direct', message: { id: mid, senderId: sender_id, senderEmail: sender_email, senderName: sender_full_name, content, timestamp } };
    }
    return { id, kind: 'other', type: 'message' };
  }
  if (type === 'update_message') {
    const u = updateMessageWire.safeParse(e.data);
    if (u.success && u.data.orig_subject !== undefined && u.data.stream_id !== undefined) {
      return {
        id,
        kind: 'topic-move',
        move: {
          messageIds: u.data.message_ids,
          fromStreamId: u.data.stream_id,
          toStreamId: u.data.new_stream_id ?? u.data.stream_id,
          fromTopic: u.data.orig_subject,
          toTopic: u.data.subject ?? u.data.orig_subject,
          ...(typeof u.data.user_id === 'number' ? { byUserId: u.data.user_id } : {}),
        },
      };
    }
    if (u.success && u.data.new_stream_id !== undefined && u.data.stream_id !== undefined) {
      // A move to another stream that keeps the topic name.
      return { id, kind: 'other', type: 'update_message' };
    }
  }
  return { id, kind: 'other', type };
}

function narrowOps(narrow: Narrow): { operator: string; operand: string }[] {
  const ops: { operator: string; operand: string }[] = [];
  if (narrow.stream !== undefined) ops.push({ operator: 'channel', operand: narrow.stream });
  if (narrow.topic !== undefined) ops.push({ operator: 'topic', operand: narrow.topic });
  if (narrow.sender !== undefined) ops.push({ operator: 'sender', operand: narrow.sender });
  return ops;
}

function toUser(u: Record<string, unknown>): ZulipUser {
  return { id: Number(u.user_id), email: String(u.email ?? ''), fullName: String(u.full_name ?? ''), isBot: u.is_bot === true };
}

export interface ZulipJsApiOptions {
  /** Time allowed for ordinary requests. */
  requestTimeoutMs?: number;
}

/** Connects with zulip-js; does not contact the server until the first call. */
export async function createZulipJsApi(creds: ZulipCredentials, opts: ZulipJsApiOptions = {}): Promise<ZulipApi> {
  const client = creds.zuliprc
    ? await zulipInit({ zuliprc: creds.zuliprc })
    : await zulipInit({ username: creds.email, apiKey: creds.apiKey, realm: creds.site });
  return new ZulipJsApi(client, opts.requestTimeoutMs ?? 15_000);
}

type Client = Awaited<ReturnType<typeof zulipInit>>;

class ZulipJsApi implements ZulipApi {
  private longpollTimeoutMs = 90_000 + 15_000;

  constructor(
    private readonly client: Client,
    private readonly timeoutMs: number,
  ) {}

  /** Runs one zulip-js call with a deadline; maps every failure to a ZulipError. */
  private async call(endpoint: string, fn: () => Promise<Record<string, unknown>>, timeoutMs = this.timeoutMs): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ZulipError('timeout', endpoint, `no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    let body: Record<string, unknown>;
    try {
      body = await Promise.race([fn(), deadline]);
    } catch (err) {
      if (err instanceof ZulipError) throw err;
      throw new ZulipError('network', endpoint, (err as Error)?.message ?? String(err));
    } finally {
      clearTimeout(timer);
    }
    if (body && body.result === 'success') return body;
    const e = errorBody.safeParse(body);
    if (e.success) throw new ZulipError('api', endpoint, e.data.msg, e.data.code ?? 'BAD_REQUEST', e.data['retry-after']);
    throw new ZulipError('network', endpoint, `unexpected answer: ${JSON.stringify(body).slice(0, 200)}`);
  }

  async register(): Promise<QueueRegistration> {
    const body = await this.call('POST /register', () =>
      this.client.queues.register({
        // A narrow holds one stream only, so the queue takes every public stream and the bot
        // keeps the SRE streams' messages.
        event_types: ['message', 'update_message'], // zulip-js JSON-encodes this one itself
        all_public_streams: 'true',
        apply_markdown: 'false',
      }),
    );
    const r = registerWire.parse(body);
    // Zulip answers -1 when the realm has no messages yet.
    const longpoll = r.event_queue_longpoll_timeout_seconds ?? 90;
    this.longpollTimeoutMs = longpoll * 1000 + 15_000;
    return { queueId: r.queue_id, lastEventId: r.last_event_id, maxMessageId: Math.max(0, r.max_message_id), longpollTimeoutSeconds: longpoll };
  }

  async getEvents(queueId: string, lastEventId: number): Promise<ZulipEvent[]> {
    const body = await this.call(
      'GET /events',
      () => this.client.events.retrieve({ queue_id: queueId, last_event_id: lastEventId }),
      this.longpollTimeoutMs,
    );
    const events = Array.isArray(body.events) ? body.events : [];
    return events.map(toEvent).filter((e): e is ZulipEvent => e !== undefined);
  }

  async latestMessages(narrow: Narrow, limit: number): Promise<StreamMessage[]> {
    const body = await this.call('GET /messages', () =>
      this.client.callEndpoint('/messages', 'GET', { anchor: 'newest', num_before: Math.min(limit, 1000), num_after: 0, narrow: JSON.stringify(narrowOps(narrow)), apply_markdown: 'false' }),
    );
    const list = Array.isArray(body.messages) ? body.messages : [];
    return list.map(toStreamMessage).filter((m): m is StreamMessage => m !== undefined);
  }

  async getMessagesAfter(afterId: number, narrow: Narrow, limit: number): Promise<{ messages: StreamMessage[]; foundNewest: boolean }> {
    const ops = narrowOps(narrow);
    const body = await this.call('GET /messages', () =>
      this.client.callEndpoint('/messages', 'GET', {
        anchor: Math.max(0, afterId),
        include_anchor: 'false',
        num_before: 0,
        num_after: Math.min(limit, 1000),
        narrow: JSON.stringify(ops),
        apply_markdown: 'false',
      }),
    );
    const list = Array.isArray(body.messages) ? body.messages : [];
    const messages = list.map(toStreamMessage).filter((m): m is StreamMessage => m !== undefined && m.id > afterId);
    return { messages, foundNewest: body.found_newest === true };
  }

  async sendStreamMessage(stream: string, topic: string, content: string): Promise<number> {
    const body = await this.call('POST /messages', () => this.client.messages.send({ type: 'stream', to: stream, topic, content }));
    return typeof body.id === 'number' ? body.id : 0;
  }

  async addReaction(messageId: number, emojiName: string): Promise<void> {
    try {
      await this.call('POST /messages/{id}/reactions', () => this.client.reactions.add({ message_id: messageId, emoji_name: emojiName }));
    } catch (err) {
      if (err instanceof ZulipError && err.code === 'REACTION_ALREADY_EXISTS') return;
      throw err;
    }
  }

  async sendDirectMessage(toEmails: readonly string[], content: string): Promise<number> {
    const body = await this.call('POST /messages (direct)', () => this.client.messages.send({ type: 'private', to: JSON.stringify(toEmails), content }));
    return typeof body.id === 'number' ? body.id : 0;
  }

  async groupMembers(name: string): Promise<number[] | undefined> {
    const body = await this.call('GET /user_groups', () => this.client.callEndpoint('/user_groups', 'GET', {}));
    const groups = Array.isArray(body.user_groups) ? (body.user_groups as { name?: string; members?: number[] }[]) : [];
    const g = groups.find((x) => x.name === name);
    return g ? (g.members ?? []) : undefined;
  }

  async me(): Promise<ZulipUser> {
    return toUser(await this.call('GET /users/me', () => this.client.users.me.getProfile()));
  }

  async user(id: number): Promise<ZulipUser> {
    const body = await this.call('GET /users/{id}', () => this.client.callEndpoint(`/users/${id}`, 'GET', {}));
    return toUser((body.user ?? {}) as Record<string, unknown>);
  }

  async users(): Promise<ZulipUser[]> {
    const body = await this.call('GET /users', () => this.client.callEndpoint('/users', 'GET', {}));
    const list = Array.isArray(body.members) ? (body.members as Record<string, unknown>[]) : [];
    return list.filter((u) => u.is_active !== false).map(toUser);
  }

  async isSubscribed(userId: number, stream: string): Promise<boolean> {
    let streamId: number;
    try {
      const s = await this.call('GET /get_stream_id', () => this.client.callEndpoint('/get_stream_id', 'GET', { stream }));
      streamId = Number(s.stream_id);
    } catch (err) {
      if (err instanceof ZulipError && err.kind === 'api' && err.code !== 'RATE_LIMIT_HIT') return false;
      throw err;
    }
    const body = await this.call('GET /users/{id}/subscriptions/{stream}', () => this.client.callEndpoint(`/users/${userId}/subscriptions/${streamId}`, 'GET', {}));
    return body.is_subscribed === true;
  }

  async streams(): Promise<{ id: number; name: string }[]> {
    const body = await this.call('GET /streams', () => this.client.streams.retrieve());
    const list = Array.isArray(body.streams) ? (body.streams as { stream_id: number; name: string }[]) : [];
    return list.map((s) => ({ id: s.stream_id, name: s.name }));
  }
}
