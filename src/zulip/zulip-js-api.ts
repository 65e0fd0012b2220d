/**
 * The Zulip adapter over zulip-js: the only importer of zulip-js. It adds what zulip-js lacks:
 * request timeouts, error codes and HTTP statuses as typed errors, validation of answers,
 * string-encoded params, and send keys (an outgoing item's id, invisible in the message).
 */
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Narrow, QueueRegistration, StreamMessage, ZulipApi, ZulipEvent, ZulipUser } from './api';
import { ZulipError } from './api';
import { httpFetch } from './http-fetch';

// ---------------------------------------------------------------------------------------------
// The HTTP status of each answer. zulip-js resolves with the parsed JSON body and drops the
// status (lib/api.js: `return response.json()`), so a 500 with Zulip's JSON error body looked
// like a 400. zulip-js calls `helper.fetch(...)` through its lib/helper.js module object at each
// request, synchronously in the call (lib/api.js builds the request and fetches before its first
// await); a wrapper installed there takes the calling request's slot (`nextSlot`, set just
// around the call) and records the status in it. (An AsyncLocalStorage did this before: it
// turns on promise hooks for every promise of the process, a cost on every reply.)
// (Pinned zulip-js 2.1.0; zulip-js-api.test.ts fails if a new version stops calling it.)
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Lighter forms. zulip-js builds each POST body with the `form-data` package (required through
// `isomorphic-form-data`, which also puts it in place of Node's global FormData): ≈ 9 MB of
// memory for code the bot never needs (it uploads nothing). zulip-js's helper gets URLSearchParams
// instead — the same `append(key, value)`; node-fetch sends it url-encoded, which Zulip takes as
// it takes multipart forms. Installed in the module cache before zulip-js is loaded.

// The same for its fetch: zulip-js's helper gets httpFetch (http-fetch.ts: node-fetch's work per
// request was most of the time between a reply's call and its request on the socket), and
// node-fetch is never loaded. (Set on the helper as well, for module loaders that keep their own
// cache, such as jest's.)
// ---------------------------------------------------------------------------------------------

function provide(name: string, exports: unknown): void {
  try {
    const path = require.resolve(name, { paths: [dirname(require.resolve('zulip-js/lib/helper'))] });
    if (!require.cache[path]) require.cache[path] = { id: path, filename: path, loaded: true, exports, children: [], paths: [] } as unknown as NodeJS.Module;
  } catch {
    // laid out differently: zulip-js loads its own
  }
}
provide('isomorphic-form-data', URLSearchParams);
provide('isomorphic-fetch', httpFetch);
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after provide
const zulipInit = require('zulip-js') as typeof import('zulip-js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
Object.assign(require('zulip-js/lib/helper') as object, { FormData: URLSearchParams });

/** The slot of the call being started: taken by the next `helper.fetch`, synchronously. */
let nextSlot: { status?: number } | undefined;

/** Connection errors before anything was sent. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

type Fetch = (this: unknown, url: string, init?: unknown) => Promise<{ status?: unknown }>;
function installStatusProbe(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const helper = require('zulip-js/lib/helper') as { fetch?: Fetch; sreBotStatusProbe?: boolean };
  if (helper.sreBotStatusProbe) return;
  const original = httpFetch as unknown as Fetch;
  helper.fetch = function (this: unknown, url: string, init?: unknown) {
    const slot = nextSlot;
    nextSlot = undefined;
    return original.call(this, url, init).then((res) => {
      if (slot && typeof res?.status === 'number') slot.status = res.status;
      return res;
    });
  };
  helper.sreBotStatusProbe = true;
}
installStatusProbe();

// ---------------------------------------------------------------------------------------------
// Send keys. Zulip's send has no idempotency key, so an outgoing item carries its own: appended
// to the content as invisible characters (default-ignorable format characters, which no Markdown
// renders and Zulip keeps: its normalisation strips whitespace only, and these are not
// whitespace in Python or JavaScript), framed by U+2063 and set off by a space (so a link or
// word before it stays as it was). After a closing code fence it goes on a line of its own (on the
// fence's line it would keep the fence from closing; inside it, copied code would carry it).
// Read back from the raw content (apply_markdown=false), it tells whether Zulip has the item.
// ---------------------------------------------------------------------------------------------

const KEY_FRAME = '\u2063';
const KEY_DIGITS = ['\u200b', '\u2060', '\u2061', '\u2062'];
const KEY_AT_END = /[ \n]?\u2063([\u200b\u2060\u2061\u2062]{2,64})\u2063$/;
/** The content with `key` (1-16 lowercase hex digits) appended invisibly. */
export function withSendKey(content: string, key: string): string {
  if (!/^[0-9a-f]{1,16}$/.test(key)) throw new Error(`send key must be 1-16 lowercase hex digits: ${key}`);
  const digits = [...key].map((h) => {
    const n = parseInt(h, 16);
    return `${KEY_DIGITS[n >> 2]}${KEY_DIGITS[n & 3]}`;
  });
  const lastLine = content.slice(content.lastIndexOf('\n') + 1);
  const before = /^\s{0,3}(`{3,}|~{3,})\s*$/.test(lastLine) ? '\n' : ' ';
  return `${content}${before}${KEY_FRAME}${digits.join('')}${KEY_FRAME}`; // at most SEND_KEY_ROOM (api.ts) more
}

/** Splits a send key off the end of raw content: the content as written, and the key if any. */
export function splitSendKey(content: string): { content: string; key?: string } {
  const m = KEY_AT_END.exec(content);
  if (!m || (m[1] as string).length % 2 !== 0) return { content };
  const chars = [...(m[1] as string)];
  let key = '';
  for (let i = 0; i < chars.length; i += 2) key += ((KEY_DIGITS.indexOf(chars[i] as string) << 2) | KEY_DIGITS.indexOf(chars[i + 1] as string)).toString(16);
  return { content: content.slice(0, m.index), key };
}

export interface ZulipCredentials {
  site?: string;
  email?: string;
  apiKey?: string;
  /** Left to zulip-js (its own reading); src/main.ts reads the zuliprc itself (src/config/zuliprc.ts) and passes the values. */
  zuliprc?: string;
  /** Do not verify the server's TLS certificate (a zuliprc's `insecure`). */
  insecure?: boolean;
  /** A PEM file of CA certificates to verify the server against (a zuliprc's `cert_bundle`). */
  certBundle?: string;
}

const errorBody = z.object({ result: z.literal('error'), msg: z.string().default(''), code: z.string().optional(), 'retry-after': z.number().optional() });

/** A message as Zulip sends it: the reference readMessage follows (zulip-js-api.test.ts). */
export const messageWire = z.object({
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
  realm_message_content_edit_limit_seconds: z.number().nullable().optional(),
});

/** An event as Zulip sends it: the reference toEvent's first check follows. */
export const eventWire = z.looseObject({ id: z.number(), type: z.string() });
const updateMessageWire = z.looseObject({
  message_ids: z.array(z.number()).default([]),
  orig_subject: z.string().optional(),
  subject: z.string().optional(),
  stream_id: z.number().optional(),
  new_stream_id: z.number().optional(),
  user_id: z.number().nullable().optional(),
  message_id: z.number().optional(),
  content: z.string().optional(),
  rendering_only: z.boolean().optional(),
});
const reactionWire = z.looseObject({
  op: z.enum(['add', 'remove']),
  message_id: z.number(),
  emoji_name: z.string(),
  user_id: z.number().optional(),
  user: z.looseObject({ user_id: z.number() }).optional(),
});

/**
 * A message from the wire checked as `messageWire` checks it, by hand: every alert and command
 * comes through here, and at rest zod's parse of an event and its message (copying each) was a
 * twentieth of a millisecond of every reply. zulip-js-api.test.ts checks both agree on every input.
 */
type MessageWire = z.infer<typeof messageWire>;
export function readMessage(raw: unknown): MessageWire | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  const { id, type, stream_id, subject, content, sender_id, sender_email, sender_full_name, client, timestamp } = m;
  if (typeof id !== 'number' || typeof type !== 'string' || (stream_id !== undefined && typeof stream_id !== 'number') || !('display_recipient' in m)) return undefined;
  if ((subject !== undefined && typeof subject !== 'string') || typeof content !== 'string' || typeof sender_id !== 'number') return undefined;
  if (typeof sender_email !== 'string' || typeof sender_full_name !== 'string' || (client !== undefined && typeof client !== 'string') || typeof timestamp !== 'number') return undefined;
  // zod's z.number() takes neither NaN nor ±Infinity (JSON has neither; kept the same).
  if (!Number.isFinite(id) || !Number.isFinite(sender_id) || !Number.isFinite(timestamp) || (stream_id !== undefined && !Number.isFinite(stream_id))) return undefined;
  return {
    id,
    type,
    ...(stream_id !== undefined ? { stream_id } : {}),
    display_recipient: m.display_recipient,
    subject: subject ?? '',
    content,
    sender_id,
    sender_email,
    sender_full_name,
    client: client ?? '',
    timestamp,
  };
}

/** A stream message from the wire (without its send key), or undefined for private messages. */
export function toStreamMessage(raw: unknown): StreamMessage | undefined {
  const m = readMessage(raw);
  if (!m || m.type !== 'stream' || typeof m.display_recipient !== 'string') return undefined;
  return {
    id: m.id,
    streamId: m.stream_id ?? 0,
    stream: m.display_recipient,
    topic: m.subject,
    content: splitSendKey(m.content).content,
    senderId: m.sender_id,
    senderEmail: m.sender_email,
    senderName: m.sender_full_name,
    client: m.client,
    timestamp: m.timestamp,
  };
}

export function toEvent(raw: unknown): ZulipEvent | undefined {
  // `eventWire`'s check, by hand (see readMessage).
  if (typeof raw !== 'object' || raw === null) return undefined;
  const data = raw as Record<string, unknown>;
  const { id, type } = data;
  if (typeof id !== 'number' || !Number.isFinite(id) || typeof type !== 'string') return undefined;
  if (type === 'heartbeat') return { id, kind: 'heartbeat' };
  if (type === 'message') {
    const raw = data.message;
    const message = toStreamMessage(raw);
    if (message) return { id, kind: 'message', message };
    const dm = readMessage(raw);
    if (dm && dm.type === 'private') {
      const { id: mid, sender_id, sender_email, sender_full_name, content, timestamp } = dm;
      return { id, kind: 'direct', message: { id: mid, senderId: sender_id, senderEmail: sender_email, senderName: sender_full_name, content: splitSendKey(content).content, timestamp } };
    }
    return { id, kind: 'other', type: 'message' };
  }
  if (type === 'reaction') {
    // `user_id` since Zulip 3.0 (feature level 2); the `user` object before (still sent, deprecated).
    const r = reactionWire.safeParse(data);
    const userId = r.success ? (r.data.user_id ?? r.data.user?.user_id) : undefined;
    if (r.success && userId !== undefined) return { id, kind: 'reaction', reaction: { op: r.data.op, messageId: r.data.message_id, emojiName: r.data.emoji_name, userId } };
    return { id, kind: 'other', type };
  }
  if (type === 'update_message') {
    const u = updateMessageWire.safeParse(data);
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
    if (u.success && u.data.content !== undefined && u.data.rendering_only !== true && (u.data.message_id ?? u.data.message_ids[0]) !== undefined) {
      const messageId = (u.data.message_id ?? u.data.message_ids[0]) as number;
      return { id, kind: 'edit', edit: { messageId, content: u.data.content, ...(typeof u.data.user_id === 'number' ? { byUserId: u.data.user_id } : {}) } };
    }
    if (u.success && u.data.new_stream_id !== undefined && u.data.stream_id !== undefined) {
      // A move to another stream that keeps the topic name.
      return { id, kind: 'other', type: 'update_message' };
    }
  }
  if (type === 'delete_message') {
    const d = z.looseObject({ message_id: z.number().optional(), message_ids: z.array(z.number()).optional() }).safeParse(data);
    const ids = d.success ? [...(d.data.message_ids ?? []), ...(d.data.message_id !== undefined ? [d.data.message_id] : [])] : [];
    if (ids.length > 0) return { id, kind: 'delete', messageIds: ids };
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

/**
 * `insecure` / `certBundle`: zulip-js's requests to `site` go through an https.Agent that skips
 * verification or trusts the bundle (zulip-js takes no agent: its fetch, lib/helper.js, gets one
 * added for URLs under the site). Other hosts (Zabbix, GitLab) are not affected.
 */
function useTls(site: string, creds: ZulipCredentials): void {
  if (!creds.insecure && creds.certBundle === undefined) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const https = require('node:https') as typeof import('node:https');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const agent = new https.Agent({ keepAlive: true, ...(creds.insecure ? { rejectUnauthorized: false } : { ca: readFileSync(creds.certBundle as string) }) });
  const prefix = `${site.replace(/\/+$/, '')}/`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const helper = require('zulip-js/lib/helper') as { fetch: Fetch };
  const inner = helper.fetch;
  helper.fetch = function (this: unknown, url: string, init?: unknown) {
    if (!url.startsWith(prefix) || !url.startsWith('https:')) return inner.call(this, url, init);
    // The newest client's agent wins (an outer wrapper has set it already).
    return inner.call(this, url, { agent, ...(init as object) });
  };
}

/** Connects with zulip-js; does not contact the server until the first call. */
export async function createZulipJsApi(creds: ZulipCredentials, opts: ZulipJsApiOptions = {}): Promise<ZulipApi> {
  const client = creds.zuliprc
    ? await zulipInit({ zuliprc: creds.zuliprc })
    : await zulipInit({ username: creds.email, apiKey: creds.apiKey, realm: creds.site });
  if (creds.site !== undefined) useTls(creds.site, creds);
  return new ZulipJsApi(client, opts.requestTimeoutMs ?? 15_000);
}

type Client = Awaited<ReturnType<typeof zulipInit>>;

class ZulipJsApi implements ZulipApi {
  private longpollTimeoutMs = 90_000 + 15_000;

  constructor(
    private readonly client: Client,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Runs one zulip-js call with a deadline; maps every failure to a ZulipError with the answer's
   * HTTP status. A call past its deadline goes on (zulip-js cannot abort it): the timeout error
   * carries its late outcome (`late`).
   */
  private async call(endpoint: string, fn: () => Promise<Record<string, unknown>>, timeoutMs = this.timeoutMs): Promise<Record<string, unknown>> {
    const slot: { status?: number } = {};
    let started: Promise<Record<string, unknown>>;
    nextSlot = slot;
    try {
      started = fn();
    } catch (err) {
      started = Promise.reject(err);
    } finally {
      nextSlot = undefined;
    }
    const outcome = started.then(
      (body) => this.interpret(endpoint, body, slot.status),
      (err: unknown) => {
        if (err instanceof ZulipError) throw err;
        // No connection at all (the system error's code): Zulip never got it.
        const code = (err as { code?: unknown })?.code;
        const notSent = slot.status === undefined && typeof code === 'string' && NOT_SENT.has(code);
        throw new ZulipError('network', endpoint, (err as Error)?.message ?? String(err), undefined, undefined, { ...(slot.status !== undefined ? { status: slot.status } : {}), ...(notSent ? { notSent } : {}) });
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const late = outcome.then(() => undefined);
        late.catch(() => {}); // whoever does not wait for it
        reject(new ZulipError('timeout', endpoint, `no answer within ${timeoutMs} ms`, undefined, undefined, { late }));
      }, timeoutMs);
    });
    try {
      return await Promise.race([outcome, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The body of a success, or the ZulipError an error answer means. */
  private interpret(endpoint: string, body: Record<string, unknown>, status: number | undefined): Record<string, unknown> {
    if (body && body.result === 'success') return body;
    const details = status !== undefined ? { status } : {};
    const e = errorBody.safeParse(body);
    if (e.success) {
      // Zulip's JSON for an internal error (json_unhandled_exception) has no code.
      const code = e.data.code ?? (status !== undefined && status >= 500 ? undefined : 'BAD_REQUEST');
      throw new ZulipError('api', endpoint, e.data.msg, code, e.data['retry-after'], details);
    }
    throw new ZulipError('network', endpoint, `unexpected answer: ${JSON.stringify(body).slice(0, 200)}`, undefined, undefined, details);
  }

  async register(): Promise<QueueRegistration> {
    const body = await this.call('POST /register', () =>
      this.client.queues.register({
        // A narrow holds one stream only, so the queue takes every public stream and the bot
        // keeps the SRE streams' messages. Reactions: acknowledging with an emoji (issue 18).
        event_types: ['message', 'update_message', 'delete_message', 'reaction'], // zulip-js JSON-encodes this one itself
        // The state returned with the queue: the newest message id, and the realm's settings (its edit limit).
        fetch_event_types: ['message', 'realm'],
        all_public_streams: 'true',
        apply_markdown: 'false',
      }),
    );
    const r = registerWire.parse(body);
    // Zulip answers -1 when the realm has no messages yet.
    const longpoll = r.event_queue_longpoll_timeout_seconds ?? 90;
    this.longpollTimeoutMs = longpoll * 1000 + 15_000;
    return {
      queueId: r.queue_id,
      lastEventId: r.last_event_id,
      maxMessageId: Math.max(0, r.max_message_id),
      longpollTimeoutSeconds: longpoll,
      ...(r.realm_message_content_edit_limit_seconds !== undefined ? { editLimitSeconds: r.realm_message_content_edit_limit_seconds } : {}),
    };
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

  async getEventsNow(queueId: string, lastEventId: number): Promise<ZulipEvent[]> {
    const body = await this.call('GET /events', () => this.client.events.retrieve({ queue_id: queueId, last_event_id: lastEventId, dont_block: 'true' }));
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

  async getMessagesBefore(beforeId: number | undefined, narrow: Narrow, limit: number): Promise<{ messages: StreamMessage[]; foundOldest: boolean }> {
    const body = await this.call('GET /messages', () =>
      this.client.callEndpoint('/messages', 'GET', {
        anchor: beforeId === undefined ? 'newest' : Math.max(0, beforeId),
        include_anchor: 'false',
        num_before: Math.min(limit, 1000),
        num_after: 0,
        narrow: JSON.stringify(narrowOps(narrow)),
        apply_markdown: 'false',
      }),
    );
    const list = Array.isArray(body.messages) ? body.messages : [];
    const messages = list.map(toStreamMessage).filter((m): m is StreamMessage => m !== undefined && (beforeId === undefined || m.id < beforeId));
    return { messages, foundOldest: body.found_oldest === true };
  }

  async getMessage(id: number): Promise<StreamMessage | undefined> {
    try {
      const body = await this.call('GET /messages/{id}', () => this.client.callEndpoint(`/messages/${id}`, 'GET', { apply_markdown: 'false' }));
      const m = toStreamMessage(body.message);
      return m && typeof body.raw_content === 'string' ? { ...m, content: body.raw_content } : m;
    } catch (err) {
      if (err instanceof ZulipError && err.kind === 'api' && err.code === 'BAD_REQUEST') return undefined;
      throw err;
    }
  }

  async renameTopic(messageId: number, newTopic: string): Promise<void> {
    await this.call('PATCH /messages/{id}', () =>
      this.client.callEndpoint(`/messages/${messageId}`, 'PATCH', { topic: newTopic, propagate_mode: 'change_all', send_notification_to_old_thread: 'false', send_notification_to_new_thread: 'false' }),
    );
  }

  async sendStreamMessage(stream: string, topic: string, content: string, key?: string): Promise<number> {
    const text = key === undefined ? content : withSendKey(content, key);
    const body = await this.call('POST /messages', () => this.client.messages.send({ type: 'stream', to: stream, topic, content: text }));
    return typeof body.id === 'number' ? body.id : 0;
  }

  async editMessage(messageId: number, content: string): Promise<void> {
    await this.call('PATCH /messages/{id} (content)', () => this.client.callEndpoint(`/messages/${messageId}`, 'PATCH', { content }));
  }

  async addReaction(messageId: number, emojiName: string): Promise<void> {
    try {
      await this.call('POST /messages/{id}/reactions', () => this.client.reactions.add({ message_id: messageId, emoji_name: emojiName }));
    } catch (err) {
      if (err instanceof ZulipError && err.code === 'REACTION_ALREADY_EXISTS') return;
      throw err;
    }
  }

  async sendDirectMessage(toEmails: readonly string[], content: string, key?: string): Promise<number> {
    const text = key === undefined ? content : withSendKey(content, key);
    const body = await this.call('POST /messages (direct)', () => this.client.messages.send({ type: 'private', to: JSON.stringify(toEmails), content: text }));
    return typeof body.id === 'number' ? body.id : 0;
  }

  async sentKeys(where: { stream: string; topic: string } | { direct: readonly string[] }, senderEmail: string, limit: number): Promise<Set<string>> {
    const ops = 'stream' in where
      ? [{ operator: 'channel', operand: where.stream }, { operator: 'topic', operand: where.topic }, { operator: 'sender', operand: senderEmail }]
      : [{ operator: 'dm', operand: where.direct.join(',') }, { operator: 'sender', operand: senderEmail }];
    const body = await this.call('GET /messages (sent keys)', () =>
      this.client.callEndpoint('/messages', 'GET', { anchor: 'newest', num_before: Math.min(limit, 1000), num_after: 0, narrow: JSON.stringify(ops), apply_markdown: 'false' }),
    );
    const keys = new Set<string>();
    for (const m of Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : []) {
      const key = typeof m.content === 'string' ? splitSendKey(m.content).key : undefined;
      if (key !== undefined) keys.add(key);
    }
    return keys;
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
