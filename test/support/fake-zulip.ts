/**
 * An in-memory fake Zulip server for integration tests.
 *
 * A plain `node:http` server on 127.0.0.1 (random port) that speaks enough of Zulip's REST API
 * (under /api/v1) for a bot built on zulip-js: event queues with long-polling, messages, topic
 * edits, reactions, users, streams and subscriptions, rate limiting, and fault injection.
 * Behaviour follows real Zulip where a bot could notice the difference (see the notes in
 * /work/shared/docs/zulip-zabbix-notes.md), for instance:
 * - event ids rise but are not consecutive; heartbeats take ids from the same counter;
 * - `register` defaults to `apply_markdown=false`, `GET /messages` to `apply_markdown=true`
 *   (content then comes back as (simplified) HTML);
 * - content is cut at 10,000 code points with "\n[message truncated]", topics at 60 with "...";
 * - `update_message` carries `subject` only when the topic changed, `new_stream_id` only on moves.
 *
 * Zulip stores and serves the bot's messages with their send key (invisible characters at the
 * end: src/zulip/zulip-js-api.ts); the inspection methods (post, messages, messagesIn, messagesBy,
 * waitForMessage, directMessages) show what a reader sees — the content without it — and the key
 * as `sendKey`.
 */
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { listenOnLoopback } from './loopback';
import { mulberry32 } from './prng';
import { splitSendKey } from '../../src/zulip/zulip-js-api';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface FakeUser { id: number; email: string; fullName: string; apiKey: string; isBot: boolean }
export interface FakeStream { id: number; name: string }
export interface FakeReaction { emoji_name: string; emoji_code: string; reaction_type: string; user_id: number }
export interface FakeMessage {
  id: number; type: 'stream'; stream_id: number; display_recipient: string; subject: string; content: string;
  sender_id: number; sender_email: string; sender_full_name: string; client: string; timestamp: number;
  reactions: FakeReaction[];
  /** Set by a content edit, as Zulip does (seconds). */
  last_edit_timestamp?: number;
  /** Inspection only: the bot's send key that was split off `content` (see the header). */
  sendKey?: string;
}
/** One content edit of a message (inspection: `editsOf`), contents as readers see them. */
export interface FakeEdit { at: number; userId: number; before: string; after: string }
export interface FakeDirectMessage {
  id: number;
  type: 'private';
  subject: '';
  display_recipient: { id: number; email: string; full_name: string }[];
  content: string;
  sender_id: number;
  sender_email: string;
  sender_full_name: string;
  client: string;
  timestamp: number;
  reactions: FakeReaction[];
  /** Inspection only: the bot's send key that was split off `content` (see the header). */
  sendKey?: string;
}

export interface RequestLogEntry {
  at: number; method: string; path: string; status: number; user?: string; params: Record<string, string>;
  /**
   * Set when the answer came from fault injection ('drop': the request was processed, the answer
   * cut; 'delay': answered late; 'unknownEventId': an events answer carried an event id the queue never issued).
   */
  fault?: 'fail' | 'rateLimit' | 'drop' | 'delay' | 'unknownEventId';
  /** performance.now() when the request arrived (headers parsed), and when it was answered (benchmarks). */
  arrivedAt?: number; hrAt?: number;
}
export interface FakeZulipOptions {
  heartbeatMs?: number;
  longpollTimeoutSeconds?: number;
  rateLimitPerMinute?: number;
  queueIdleTimeoutMs?: number;
  /**
   * The realm's message_content_edit_limit_seconds (sent in /register's answer): content edits
   * after it are refused as Zulip refuses them. Absent or 0: no limit.
   */
  editLimitSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

type Params = Record<string, string>;
type Json = Record<string, unknown>;

const API_PREFIX = '/api/v1';
const MAX_MESSAGE_LENGTH = 10_000;
const MAX_TOPIC_LENGTH = 60;
const MAX_MESSAGES_PER_FETCH = 5000;
const LARGER_THAN_MAX_MESSAGE_ID = 10_000_000_000_000_000;
const RATE_WINDOW_MS = 60_000;
const NOTIFICATION_BOT = { email: 'notification-bot@zulip.com', fullName: 'Notification Bot' };
const EMOJI_CODES = new Map<string, string>([
  ['repeat', '1f501'], ['check', '2705'], ['eyes', '1f440'], ['working_on_it', '1f6e0'], ['fire', '1f525'], ['thumbs_up', '1f44d'], ['+1', '1f44d'],
  ['warning', '26a0'], ['cross_mark', '274c'], ['rotating_light', '1f6a8'],
  // Zulip's own name for ✔️ U+2714 (its emoji_names.py); `heavy_check_mark` is not a Zulip name.
  ['check_mark', '2714'],
]);

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, msg: string, readonly extra: Json = {}) {
    super(msg);
  }
}

interface Reply { status: number; body: Json; headers?: Record<string, string> }
interface NarrowTerm { operator: string; operand: string; negated: boolean }
interface QueueEvent extends Json { id: number; type: string }

interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  params: Params;
  user?: FakeUser;
  drop: boolean;
  answered: boolean;
  rateHeaders: Record<string, string>;
  arrivedAt?: number;
  /** Events this answer releases from a queue (set only while onEventsReleased is hooked). */
  released?: { queueId: string; user: string; events: QueueEvent[] };
  /** delayNext: the answer is written this many ms after it is ready. */
  delayMs?: number;
  /** The fault that shaped this answer without replacing it (delay, unknown event id). */
  faultTag?: 'delay' | 'unknownEventId';
  /** Counted in `delayed` until answered. */
  delayedCounted?: boolean;
}

interface EventQueue {
  id: string;
  user: FakeUser;
  eventTypes: Set<string> | null;
  narrow: NarrowTerm[];
  allPublicStreams: boolean;
  applyMarkdown: boolean;
  events: QueueEvent[];
  nextEventId: number;
  rng: () => number;
  lastActivity: number;
  poll?: { ctx: RequestContext; timer: NodeJS.Timeout };
  /** Id of the newest event acknowledged (pruned) so far, as Zulip's newest_pruned_id. */
  newestPrunedId?: number;
}

interface FaultRule {
  kind: 'fail' | 'rateLimit' | 'hang' | 'drop' | 'delay';
  remaining: number;
  path?: RegExp;
  method?: string;
  status?: number;
  retryAfter?: number;
  /** fail: answer with Zulip's JSON error body (with `code` when given) instead of a proxy's HTML page. */
  json?: boolean;
  code?: string;
  /** delay: how long, and whether the request takes effect at once or only when it is answered. */
  delayMs?: number;
  effectWhenAnswered?: boolean;
}

/** A message event held back (deliverOutOfOrderNext) until the next event is delivered. */
interface HeldEvent { q: EventQueue; payload: Json & { type: string }; sameBatch: boolean }

interface Waiter { check: () => void; timer: NodeJS.Timeout; reject: (e: Error) => void }

type Handler = (ctx: RequestContext, m: RegExpMatchArray) => Reply | undefined;
interface Route { method: string; pattern: RegExp; handler: Handler }

function success(body: Json = {}): Reply {
  return { status: 200, body: { result: 'success', msg: '', ...body } };
}

function errorBody(code: string, msg: string, extra: Json = {}): Json {
  return { result: 'error', msg, code, ...extra };
}

/** Zulip's truncate_content, counting code points as Python does. */
function truncate(text: string, max: number, suffix: string): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return chars.slice(0, max - Array.from(suffix).length).join('') + suffix;
}

/** A crude stand-in for Zulip's Markdown processor: escaped text in paragraphs. */
function renderMarkdown(source: string): string {
  const escaped = source.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  return escaped.split(/\n{2,}/).map((p) => `<p>${p.replace(/\n/g, '<br>\n')}</p>`).join('\n');
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A stored message as a reader sees it: the bot's send key split off the content (see the header). */
function view<T extends { content: string }>(m: T): T & { sendKey?: string } {
  const { content, key } = splitSendKey(m.content);
  return { ...clone(m), content, ...(key !== undefined ? { sendKey: key } : {}) };
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

async function readParams(req: http.IncomingMessage): Promise<Params> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const out: Params = {};
  if (raw.length === 0) return out;
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    const form = await new Request('http://fake.invalid/', {
      method: 'POST', headers: { 'content-type': contentType }, body: raw,
    }).formData();
    form.forEach((value, key) => { if (typeof value === 'string') out[key] = value; });
  } else if (contentType.toLowerCase().startsWith('application/json')) {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  } else {
    new URLSearchParams(raw.toString('utf8')).forEach((value, key) => { out[key] = value; });
  }
  return out;
}

function parseJsonParam(params: Params, name: string): unknown {
  const raw = params[name];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', `Argument "${name}" is not valid JSON.`);
  }
}

function parseBool(params: Params, name: string, fallback: boolean): boolean {
  const raw = params[name];
  if (raw === undefined) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ApiError(400, 'BAD_REQUEST', `Argument "${name}" is not valid JSON.`);
}

function parseNonNegativeInt(params: Params, name: string, fallback: number): number {
  const raw = params[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ApiError(400, 'BAD_REQUEST', `Invalid ${name}`);
  return Number(raw);
}

function required(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined) {
    throw new ApiError(400, 'REQUEST_VARIABLE_MISSING', `Missing '${name}' argument`, { var_name: name });
  }
  return value;
}

/** Both narrow syntaxes: [["stream","X"]] and [{"operator":"channel","operand":"X"}]. */
function parseNarrow(params: Params): NarrowTerm[] {
  const parsed = parseJsonParam(params, 'narrow') ?? [];
  if (!Array.isArray(parsed)) throw new ApiError(400, 'BAD_REQUEST', 'Invalid narrow');
  return parsed.map((term: unknown): NarrowTerm => {
    let operator: unknown;
    let operand: unknown;
    let negated = false;
    if (Array.isArray(term)) {
      [operator, operand] = term as unknown[];
    } else if (term && typeof term === 'object') {
      const t = term as { operator?: unknown; operand?: unknown; negated?: unknown };
      ({ operator, operand } = t);
      negated = t.negated === true;
    }
    if (typeof operator !== 'string' || (typeof operand !== 'string' && typeof operand !== 'number')) {
      throw new ApiError(400, 'BAD_REQUEST', 'Invalid narrow');
    }
    if (!['stream', 'channel', 'topic', 'sender', 'id', 'dm', 'pm-with'].includes(operator)) {
      throw new ApiError(400, 'BAD_REQUEST', `Invalid narrow operator: unknown operator ${operator}`);
    }
    const canonical = operator === 'channel' ? 'stream' : operator === 'pm-with' ? 'dm' : operator;
    return { operator: canonical, operand: String(operand), negated };
  });
}

/**
 * Whether a direct message is the conversation a `dm` operand names: the other participants, by
 * email or id, comma-separated (the requesting user is implied, as in Zulip).
 */
function dmMatches(operand: string, m: FakeDirectMessage, me: FakeUser | undefined): boolean {
  const named = operand.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  const people = m.display_recipient.filter((p) => p.id !== me?.id);
  const wanted = new Set(named);
  return people.length === wanted.size && people.every((p) => wanted.has(p.email.toLowerCase()) || wanted.has(String(p.id)));
}

function narrowMatches(narrow: NarrowTerm[], m: FakeMessage): boolean {
  return narrow.every((term) => {
    let hit: boolean;
    switch (term.operator) {
      case 'stream': hit = sameName(m.display_recipient, term.operand) || String(m.stream_id) === term.operand; break;
      case 'topic': hit = sameName(m.subject, term.operand); break;
      case 'sender': hit = sameName(m.sender_email, term.operand) || String(m.sender_id) === term.operand; break;
      default: hit = String(m.id) === term.operand;
    }
    return hit !== term.negated;
  });
}

/** Zulip's client name from a user agent: "ZulipPython/0.9 (Linux)" -> "ZulipPython". */
function clientFromUserAgent(ua: string | undefined): string {
  if (!ua) return 'API';
  return /^([^/ ]+)/.exec(ua)?.[1] ?? 'API';
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export class FakeZulip {
  readonly url: string;
  readonly requests: RequestLogEntry[] = [];
  rateLimitHits = 0;
  /** Requests delayNext has taken so far (answered or not: a client may be gone before the answer). */
  delaysTaken = 0;
  /** Message events delivered out of order by deliverOutOfOrderNext so far. */
  outOfOrderDelivered = 0;
  /** Each message whose event deliverOutOfOrderNext held back, and the message it went out behind (none: by itself). */
  readonly outOfOrderPairs: { held: number; after?: number }[] = [];
  /** Benchmarks: called when events have been written to a GET /events answer (`at`: performance.now()). */
  onEventsReleased?: (release: { queueId: string; user: string; at: number; events: readonly Json[] }) => void;
  /** Benchmarks: called with every request log entry as it is written. */
  onRequest?: (entry: RequestLogEntry) => void;

  private readonly opts: Required<FakeZulipOptions>;
  private readonly users = new Map<number, FakeUser>();
  private readonly streams = new Map<number, FakeStream>();
  private readonly subscribers = new Map<number, Set<number>>();
  private readonly msgs: FakeMessage[] = [];
  private readonly msgById = new Map<number, FakeMessage>();
  private readonly queues = new Map<string, EventQueue>();
  private readonly rateWindows = new Map<number, number[]>();
  private readonly faults: FaultRule[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly sockets = new Set<Socket>();
  private readonly routes: Route[];
  private readonly startedAt = Math.floor(Date.now() / 1000);
  /** Deterministic "random" message id gaps. */
  private readonly idRng = mulberry32(20240601);
  private nextUserId = 1000;
  /** deliverOutOfOrderNext: for each message still to hold back, whether it goes out in the same batch. */
  private readonly outOfOrder: boolean[] = [];
  private held: HeldEvent[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private unknownEventIds = 0;
  /** Requests delayNext took whose answer has not been written yet. */
  private delayed = 0;
  private nextStreamId = 10;
  private nextMessageId = 101;
  private queueCounter = 0;
  private stopped = false;

  private constructor(private readonly server: http.Server, opts: FakeZulipOptions) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.opts = {
      heartbeatMs: opts.heartbeatMs ?? 50_000,
      longpollTimeoutSeconds: opts.longpollTimeoutSeconds ?? 90,
      rateLimitPerMinute: opts.rateLimitPerMinute ?? 200,
      queueIdleTimeoutMs: opts.queueIdleTimeoutMs ?? 600_000,
      editLimitSeconds: opts.editLimitSeconds ?? 0,
    };
    this.routes = this.buildRoutes();
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (res.headersSent) { res.destroy(); return; }
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(errorBody('INTERNAL_SERVER_ERROR', `FakeZulip crashed: ${String(err)}`)));
      });
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(opts: FakeZulipOptions = {}): Promise<FakeZulip> {
    return new FakeZulip(await listenOnLoopback(), opts);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.heldTimer);
    for (const q of this.queues.values()) if (q.poll) clearTimeout(q.poll.timer);
    this.queues.clear();
    for (const w of this.waiters) { clearTimeout(w.timer); w.reject(new Error('FakeZulip stopped')); }
    this.waiters.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // ----- setup ---------------------------------------------------------------------------------

  addUser(u: { email: string; fullName: string; apiKey?: string; isBot?: boolean }): FakeUser {
    if (this.findUser(u.email)) throw new Error(`FakeZulip: user ${u.email} already exists`);
    const user: FakeUser = {
      id: this.nextUserId++, email: u.email, fullName: u.fullName,
      apiKey: u.apiKey ?? randomBytes(16).toString('hex'), isBot: u.isBot ?? false,
    };
    this.users.set(user.id, user);
    return { ...user };
  }

  addStream(name: string): FakeStream {
    return { ...this.ensureStream(name) };
  }

  subscribe(email: string, streamName: string): void {
    this.subscribersOf(this.streamOrThrow(streamName)).add(this.userOrThrow(email).id);
  }

  unsubscribe(email: string, streamName: string): void {
    this.subscribersOf(this.streamOrThrow(streamName)).delete(this.userOrThrow(email).id);
  }

  // ----- acting as users -----------------------------------------------------------------------

  post(senderEmail: string, stream: string, topic: string, content: string,
    opts: { client?: string; timestamp?: number } = {}): FakeMessage {
    const m = this.createMessage(this.userOrThrow(senderEmail), this.streamOrThrow(stream), topic, content,
      opts.client ?? 'website', opts.timestamp);
    return view(m);
  }

  /** A user's emoji reaction added (as from the web UI): a `reaction` event, as POST /messages/{id}/reactions makes. */
  react(email: string, messageId: number, emojiName: string): void {
    this.applyReaction(this.messageOrThrow(String(messageId)), this.userOrThrow(email), { emoji_name: emojiName }, 'add');
  }

  /** A user edits the content of their own message (as from the web UI): an `update_message` event. */
  edit(email: string, messageId: number, content: string): void {
    this.editContent(this.messageOrThrow(String(messageId)), content, this.userOrThrow(email));
  }

  /** A message deleted (by an admin, as DELETE /messages/{id} does): a `delete_message` event. */
  deleteMessage(messageId: number): void {
    const message = this.messageOrThrow(String(messageId));
    this.msgs.splice(this.msgs.indexOf(message), 1);
    this.msgById.delete(message.id);
    const event: Json = { message_id: message.id, message_type: 'stream', stream_id: message.stream_id, topic: message.subject };
    this.deliver('delete_message', (q) => (q.allPublicStreams || this.isSubscribed(q.user, message.stream_id) ? event : null));
    this.notifyWaiters();
  }

  /** A user's emoji reaction taken off again. */
  unreact(email: string, messageId: number, emojiName: string): void {
    this.applyReaction(this.messageOrThrow(String(messageId)), this.userOrThrow(email), { emoji_name: emojiName }, 'remove');
  }

  renameTopic(stream: string, oldTopic: string, newTopic: string, opts: { newStream?: string; byEmail?: string } = {}): void {
    const s = this.streamOrThrow(stream);
    const first = this.msgs.find((m) => m.stream_id === s.id && sameName(m.subject, oldTopic));
    if (!first) throw new Error(`FakeZulip: no messages in ${stream} > ${oldTopic}`);
    const newStream = opts.newStream === undefined ? undefined : this.streamOrThrow(opts.newStream);
    this.moveMessages(first, 'change_all', this.normalizeTopic(newTopic), newStream, this.actor(opts.byEmail));
  }

  resolveTopic(stream: string, topic: string, byEmail?: string): void {
    if (topic.startsWith('✔ ')) return; // already resolved: Zulip does nothing
    const actor = this.actor(byEmail);
    const resolved = this.normalizeTopic(`✔ ${topic}`);
    this.renameTopic(stream, topic, resolved, { byEmail: actor.email });
    const bot = this.findUser(NOTIFICATION_BOT.email)
      ?? this.addUser({ ...NOTIFICATION_BOT, isBot: true });
    this.post(bot.email, stream, resolved, `@_**${actor.fullName}|${actor.id}** has marked this topic as resolved.`,
      { client: 'Internal' });
  }

  // ----- inspection ----------------------------------------------------------------------------

  messages(): FakeMessage[] {
    return this.msgs.map(view);
  }

  messagesIn(stream: string, topic?: string): FakeMessage[] {
    return this.msgs.filter((m) => sameName(m.display_recipient, stream)
      && (topic === undefined || sameName(m.subject, topic))).map(view);
  }

  messagesBy(email: string): FakeMessage[] {
    return this.msgs.filter((m) => sameName(m.sender_email, email)).map(view);
  }

  /** The content edits of a message, oldest first (empty when never edited). */
  editsOf(messageId: number): FakeEdit[] {
    return clone(this.edits.get(messageId) ?? []);
  }

  waitForMessage(pred: (m: FakeMessage) => boolean, opts: { timeoutMs?: number; afterId?: number } = {}): Promise<FakeMessage> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const afterId = opts.afterId ?? 0;
    return new Promise<FakeMessage>((resolve, reject) => {
      const waiter: Waiter = {
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const recent = this.msgs.slice(-8).map((m) =>
            `  #${m.id} [${m.display_recipient} > ${m.subject}] ${m.sender_email}: ${m.content.slice(0, 160)}`);
          reject(new Error(`FakeZulip.waitForMessage: no matching message (id > ${afterId}) within ${timeoutMs} ms. `
            + `Last messages:\n${recent.join('\n') || '  (none)'}`));
        }, timeoutMs),
        check: () => {
          try {
            const found = this.msgs.find((m) => m.id > afterId && pred(view(m)));
            if (!found) return;
            this.waiters.delete(waiter);
            clearTimeout(waiter.timer);
            resolve(view(found));
          } catch (err) {
            this.waiters.delete(waiter);
            clearTimeout(waiter.timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise<void>((resolve, reject) => {
      const tick = (): void => {
        let ok: boolean;
        try { ok = cond(); } catch (err) { reject(err instanceof Error ? err : new Error(String(err))); return; }
        if (ok) resolve();
        else if (Date.now() >= deadline) reject(new Error(`FakeZulip.waitFor: timed out after ${timeoutMs} ms waiting for ${what}`));
        else setTimeout(tick, 20);
      };
      tick();
    });
  }

  queueCount(): number {
    this.collectIdleQueues();
    return this.queues.size;
  }

  // ----- fault injection -----------------------------------------------------------------------

  expireAllQueues(): void {
    for (const q of this.queues.values()) {
      if (!q.poll) continue;
      clearTimeout(q.poll.timer);
      this.respond(q.poll.ctx, this.badQueue(q.id));
    }
    this.queues.clear();
  }

  /**
   * The next n matching requests fail with `status` (default 500), unprocessed. The body is a
   * proxy's HTML page, or with `body: 'json'` Zulip's own JSON error (`{"result":"error","msg":…}`,
   * with `code` when given), as Zulip answers its internal errors.
   */
  failNext(n: number, opts: { status?: number; path?: RegExp; method?: string; body?: 'html' | 'json'; code?: string } = {}): void {
    this.faults.push({
      kind: 'fail', remaining: n, status: opts.status ?? 500, path: opts.path, method: opts.method?.toUpperCase(),
      json: opts.body === 'json', ...(opts.code !== undefined ? { code: opts.code } : {}),
    });
  }

  /**
   * The next n matching requests are answered `ms` late. By default the request takes effect at
   * once (a message is stored and its events go out) and only the answer is late; with
   * `effect: 'when-answered'` the server works slowly: the effect too happens only after `ms`.
   * Either way the request is carried out even when the client gave up waiting.
   */
  delayNext(n: number, ms: number, opts: { path?: RegExp; method?: string; effect?: 'at-once' | 'when-answered' } = {}): void {
    this.faults.push({
      kind: 'delay', remaining: n, delayMs: ms, path: opts.path, method: opts.method?.toUpperCase(),
      effectWhenAnswered: opts.effect === 'when-answered',
    });
  }

  /**
   * The events of the next n messages are delivered out of order: each is held back until the
   * next event (of any message) is delivered, and then queued after it — a higher event id for the
   * lower message id, as when two senders' transactions commit in the other order. By default the
   * two go out in one GET /events answer; with `sameBatch: false` the held one comes in a later
   * answer. A held event with nothing after it goes out after 300 ms.
   */
  deliverOutOfOrderNext(n: number, opts: { sameBatch?: boolean } = {}): void {
    this.outOfOrder.push(...Array.from({ length: n }, () => opts.sameBatch ?? true));
  }

  /**
   * The next n GET /events answers that carry events also carry one (a heartbeat) whose id the
   * queue never issued. A client that acknowledges it (last_event_id) gets Zulip's answer to that:
   * 400 BAD_REQUEST "Event N was not in this queue" (and the events up to it are pruned).
   */
  unknownEventIdNext(n: number): void {
    this.unknownEventIds += n;
  }

  /** Requests delayNext is holding (their answer, and with `effect: 'when-answered'` their effect, still to come). */
  delayedInFlight(): number {
    return this.delayed;
  }

  rateLimitNext(n: number, retryAfterSeconds: number, opts: { path?: RegExp } = {}): void {
    this.faults.push({ kind: 'rateLimit', remaining: n, retryAfter: retryAfterSeconds, path: opts.path });
  }

  /** Drops every fault rule not used up yet. */
  clearFaults(): void {
    this.faults.splice(0);
  }

  hangNext(n: number, opts: { path?: RegExp } = {}): void {
    this.faults.push({ kind: 'hang', remaining: n, path: opts.path });
  }

  dropNext(n: number, opts: { path?: RegExp } = {}): void {
    this.faults.push({ kind: 'drop', remaining: n, path: opts.path });
  }

  // ----- domain helpers ------------------------------------------------------------------------

  private findUser(emailOrId: string): FakeUser | undefined {
    if (/^\d+$/.test(emailOrId)) return this.users.get(Number(emailOrId));
    return [...this.users.values()].find((u) => sameName(u.email, emailOrId));
  }

  private userOrThrow(email: string): FakeUser {
    const user = this.findUser(email);
    if (!user) throw new Error(`FakeZulip: unknown user ${email}`);
    return user;
  }

  /** The user an edit is attributed to: the given one, else the first human user. */
  private actor(email?: string): FakeUser {
    if (email !== undefined) return this.userOrThrow(email);
    const human = [...this.users.values()].find((u) => !u.isBot);
    if (!human) throw new Error('FakeZulip: no human user to attribute the edit to (pass byEmail)');
    return human;
  }

  private findStream(name: string): FakeStream | undefined {
    return [...this.streams.values()].find((s) => sameName(s.name, name));
  }

  private ensureStream(name: string): FakeStream {
    const existing = this.findStream(name);
    if (existing) return existing;
    const stream: FakeStream = { id: this.nextStreamId++, name };
    this.streams.set(stream.id, stream);
    this.subscribers.set(stream.id, new Set());
    return stream;
  }

  private streamOrThrow(name: string): FakeStream {
    const stream = this.findStream(name);
    if (!stream) throw new Error(`FakeZulip: unknown stream ${name}`);
    return stream;
  }

  private subscribersOf(stream: FakeStream): Set<number> {
    let set = this.subscribers.get(stream.id);
    if (!set) { set = new Set(); this.subscribers.set(stream.id, set); }
    return set;
  }

  private isSubscribed(user: FakeUser, streamId: number): boolean {
    return this.subscribers.get(streamId)?.has(user.id) ?? false;
  }

  private normalizeTopic(topic: string): string {
    const trimmed = topic.trim();
    if (trimmed === '') throw new ApiError(400, 'BAD_REQUEST', "Topic can't be empty!");
    if (trimmed.includes('\0')) throw new ApiError(400, 'BAD_REQUEST', 'Topic must not contain null bytes');
    return truncate(trimmed, MAX_TOPIC_LENGTH, '...');
  }

  private normalizeContent(content: string): string {
    const body = content.trimEnd().replace(/^\n+/, '');
    if (body === '') throw new ApiError(400, 'BAD_REQUEST', 'Message must not be empty');
    if (body.includes('\0')) throw new ApiError(400, 'BAD_REQUEST', 'Message must not contain null bytes');
    return truncate(body, MAX_MESSAGE_LENGTH, '\n[message truncated]');
  }

  private createMessage(sender: FakeUser, stream: FakeStream, topic: string, content: string,
    client: string, timestamp?: number): FakeMessage {
    const message: FakeMessage = {
      id: this.nextMessageId, type: 'stream', stream_id: stream.id, display_recipient: stream.name,
      subject: this.normalizeTopic(topic), content: this.normalizeContent(content),
      sender_id: sender.id, sender_email: sender.email, sender_full_name: sender.fullName, client,
      timestamp: timestamp ?? Math.floor(Date.now() / 1000), reactions: [],
    };
    this.nextMessageId += 1 + Math.floor(this.idRng() * 3);
    this.msgs.push(message);
    this.msgById.set(message.id, message);
    this.deliver('message', (q) => {
      const visible = q.user.id === sender.id || q.allPublicStreams || this.isSubscribed(q.user, stream.id);
      if (!visible || !narrowMatches(q.narrow, message)) return null;
      return { message: this.wire(message, q.applyMarkdown), flags: q.user.id === sender.id ? ['read'] : [] };
    });
    this.notifyWaiters();
    return message;
  }

  private moveMessages(target: FakeMessage, mode: string, newTopic: string | undefined,
    newStream: FakeStream | undefined, editor: FakeUser): void {
    const origStreamId = target.stream_id;
    const origStreamName = target.display_recipient;
    const origTopic = target.subject;
    const topicChanged = newTopic !== undefined && newTopic !== origTopic;
    const streamChanged = newStream !== undefined && newStream.id !== origStreamId;
    if (!topicChanged && !streamChanged) return;
    const affected = mode === 'change_one' ? [target] : this.msgs.filter((m) =>
      m.stream_id === origStreamId && sameName(m.subject, origTopic) && (mode === 'change_all' || m.id >= target.id));
    for (const m of affected) {
      if (topicChanged) m.subject = newTopic;
      if (streamChanged) { m.stream_id = newStream.id; m.display_recipient = newStream.name; }
    }
    const event: Json = {
      user_id: editor.id, edit_timestamp: Math.floor(Date.now() / 1000), message_id: target.id,
      message_ids: affected.map((m) => m.id), stream_id: origStreamId, stream_name: origStreamName,
      orig_subject: origTopic, propagate_mode: mode, rendering_only: false, topic_links: [], flags: [],
    };
    if (topicChanged) event.subject = newTopic;
    if (streamChanged) event.new_stream_id = newStream.id;
    const senders = new Set(affected.map((m) => m.sender_id));
    this.deliver('update_message', (q) => (q.allPublicStreams || senders.has(q.user.id) || q.user.id === editor.id
      || this.isSubscribed(q.user, origStreamId) || (streamChanged && this.isSubscribed(q.user, newStream.id)) ? event : null));
    this.notifyWaiters();
  }

  /** An administrator changes the realm's edit limit (0: none); queues registered before are not told. */
  setEditLimit(seconds: number): void {
    this.opts.editLimitSeconds = seconds;
  }

  private editContent(message: FakeMessage, content: string, editor: FakeUser): void {
    if (editor.id !== message.sender_id) {
      throw new ApiError(400, 'BAD_REQUEST', "You don't have permission to edit this message");
    }
    const limit = this.opts.editLimitSeconds ?? 0;
    if (limit > 0 && Date.now() / 1000 - message.timestamp > limit) {
      throw new ApiError(400, 'BAD_REQUEST', 'The time limit for editing this message has passed');
    }
    const orig = message.content;
    message.content = this.normalizeContent(content);
    message.last_edit_timestamp = Math.floor(Date.now() / 1000);
    const edits = this.edits.get(message.id) ?? [];
    edits.push({ at: Date.now(), userId: editor.id, before: splitSendKey(orig).content, after: splitSendKey(message.content).content });
    this.edits.set(message.id, edits);
    const event: Json = {
      user_id: editor.id, edit_timestamp: Math.floor(Date.now() / 1000), message_id: message.id,
      message_ids: [message.id], stream_id: message.stream_id, stream_name: message.display_recipient,
      orig_content: orig, content: message.content, rendered_content: renderMarkdown(message.content),
      rendering_only: false, flags: [],
    };
    this.deliver('update_message', (q) => (q.allPublicStreams || q.user.id === editor.id
      || this.isSubscribed(q.user, message.stream_id) ? event : null));
    this.notifyWaiters();
  }

  private applyReaction(message: FakeMessage, user: FakeUser, params: Params, op: 'add' | 'remove'): void {
    const name = required(params, 'emoji_name');
    const code = EMOJI_CODES.get(name);
    if (code === undefined || (params.emoji_code !== undefined && params.emoji_code !== code)) {
      throw new ApiError(400, 'BAD_REQUEST', 'Invalid emoji name');
    }
    const type = params.reaction_type ?? 'unicode_emoji';
    const index = message.reactions.findIndex((r) => r.user_id === user.id && r.emoji_code === code && r.reaction_type === type);
    if (op === 'add') {
      if (index >= 0) throw new ApiError(400, 'REACTION_ALREADY_EXISTS', 'Reaction already exists.');
      message.reactions.push({ emoji_name: name, emoji_code: code, reaction_type: type, user_id: user.id });
    } else {
      if (index < 0) throw new ApiError(400, 'REACTION_DOES_NOT_EXIST', "Reaction doesn't exist.");
      message.reactions.splice(index, 1);
    }
    const event: Json = {
      op, message_id: message.id, emoji_name: name, emoji_code: code, reaction_type: type, user_id: user.id,
      user: { user_id: user.id, email: user.email, full_name: user.fullName },
    };
    this.deliver('reaction', (q) => (q.allPublicStreams || q.user.id === user.id || q.user.id === message.sender_id
      || this.isSubscribed(q.user, message.stream_id) ? event : null));
    this.notifyWaiters();
  }

  private readonly userGroups: { id: number; name: string; members: Set<number> }[] = [];
  /** Content edits per message id, oldest first. */
  private readonly edits = new Map<number, FakeEdit[]>();

  /** A user group (Settings → User groups), for permission checks. */
  addUserGroup(name: string, memberEmails: string[]): void {
    this.userGroups.push({ id: 100 + this.userGroups.length, name, members: new Set(memberEmails.map((e) => this.userOrThrow(e).id)) });
  }

  /** Direct messages as stored, in id order (ids shared with stream messages). */
  private readonly dms: FakeDirectMessage[] = [];

  /** Direct messages, in id order (ids shared with stream messages), as readers see them. */
  get directMessages(): FakeDirectMessage[] {
    return this.dms.map(view);
  }

  /** A direct message from a user (as from the web UI) to other users, by email. */
  postDirect(senderEmail: string, toEmails: string[], content: string): FakeDirectMessage {
    return view(this.createDirect(this.userOrThrow(senderEmail), toEmails.map((e) => this.userOrThrow(e)), content, 'website'));
  }

  private recipientsFromTo(to: string): FakeUser[] {
    let list: unknown = to;
    try { list = JSON.parse(to); } catch { list = to.split(','); }
    const items = Array.isArray(list) ? list : [list];
    return items.map((x) => {
      const u = this.findUser(String(x).trim());
      if (!u) throw new ApiError(400, 'BAD_REQUEST', `Invalid email '${String(x)}'`);
      return u;
    });
  }

  private createDirect(sender: FakeUser, to: FakeUser[], content: string, client: string): FakeDirectMessage {
    const people = [sender, ...to.filter((u) => u.id !== sender.id)];
    const dm: FakeDirectMessage = {
      id: this.nextMessageId, type: 'private', subject: '', content: this.normalizeContent(content),
      display_recipient: people.map((u) => ({ id: u.id, email: u.email, full_name: u.fullName })),
      sender_id: sender.id, sender_email: sender.email, sender_full_name: sender.fullName, client,
      timestamp: Math.floor(Date.now() / 1000), reactions: [],
    };
    this.nextMessageId += 1 + Math.floor(this.idRng() * 3);
    this.dms.push(dm);
    this.deliver('message', (q) => (people.some((u) => u.id === q.user.id) ? { message: clone(dm), flags: q.user.id === sender.id ? ['read'] : [] } : null));
    this.notifyWaiters();
    return dm;
  }

  private wire(m: FakeMessage | FakeDirectMessage, html: boolean): Json {
    return {
      ...clone(m), content: html ? renderMarkdown(m.content) : m.content,
      content_type: html ? 'text/html' : 'text/x-markdown', topic_links: [],
    };
  }

  private notifyWaiters(): void {
    for (const w of [...this.waiters]) w.check();
  }

  // ----- event queues --------------------------------------------------------------------------

  private deliver(type: string, build: (q: EventQueue) => Json | null): void {
    this.collectIdleQueues();
    // Events held back by deliverOutOfOrderNext go out after this one.
    const release = this.held.splice(0);
    clearTimeout(this.heldTimer);
    const hold = type === 'message' && release.length === 0 && this.outOfOrder.length > 0 ? this.outOfOrder.shift() : undefined;
    const touched = new Set<EventQueue>();
    let afterId: number | undefined;
    for (const q of this.queues.values()) {
      if (q.eventTypes && !q.eventTypes.has(type)) continue;
      const payload = build(q);
      if (!payload) continue;
      afterId ??= (payload.message as { id?: number } | undefined)?.id;
      if (hold !== undefined) this.held.push({ q, payload: { ...clone(payload), type }, sameBatch: hold });
      else {
        this.pushEvent(q, { ...clone(payload), type }, false);
        touched.add(q);
      }
    }
    this.releaseHeld(release, touched, afterId);
    if (this.held.length > 0) {
      this.heldTimer = setTimeout(() => this.releaseHeld(this.held.splice(0), new Set(), undefined), 300);
      this.heldTimer.unref();
    }
  }

  /** Queues held events behind what `touched` just got (message `afterId`); answers the waiting polls. */
  private releaseHeld(release: HeldEvent[], touched: Set<EventQueue>, afterId: number | undefined): void {
    const later: HeldEvent[] = [];
    const recorded = new Set<number>();
    for (const h of release) {
      const heldId = (h.payload.message as { id?: number } | undefined)?.id;
      if (heldId !== undefined && !recorded.has(heldId)) {
        recorded.add(heldId);
        this.outOfOrderPairs.push({ held: heldId, ...(afterId !== undefined ? { after: afterId } : {}) });
      }
      if (this.queues.get(h.q.id) !== h.q) continue;
      this.outOfOrderDelivered++;
      if (h.sameBatch || !touched.has(h.q)) {
        this.pushEvent(h.q, h.payload, false);
        touched.add(h.q);
      } else later.push(h);
    }
    for (const q of touched) if (q.poll) this.answerPoll(q);
    // Not in the same batch: queued once that answer went out.
    for (const h of later) if (this.queues.get(h.q.id) === h.q) this.pushEvent(h.q, h.payload);
  }

  private pushEvent(q: EventQueue, payload: Json & { type: string }, answer = true): void {
    q.events.push({ ...payload, id: q.nextEventId });
    q.nextEventId += q.rng() < 0.5 ? 1 : 2;
    if (answer && q.poll) this.answerPoll(q);
  }

  /** The events of an answer; unknownEventIdNext adds one the queue never issued. */
  private eventsAnswer(q: EventQueue, ctx: RequestContext): QueueEvent[] {
    const events = clone(q.events);
    if (events.length > 0 && this.unknownEventIds > 0) {
      this.unknownEventIds--;
      events.push({ type: 'heartbeat', id: q.nextEventId + 1_000_000 });
      ctx.faultTag = 'unknownEventId';
    }
    return events;
  }

  private answerPoll(q: EventQueue): void {
    const poll = q.poll;
    if (!poll) return;
    clearTimeout(poll.timer);
    q.poll = undefined;
    q.lastActivity = Date.now();
    if (this.onEventsReleased) poll.ctx.released = { queueId: q.id, user: q.user.email, events: q.events.slice() };
    this.respond(poll.ctx, success({ events: this.eventsAnswer(q, poll.ctx), queue_id: q.id }));
  }

  private collectIdleQueues(): void {
    const now = Date.now();
    for (const [id, q] of this.queues) {
      if (!q.poll && now - q.lastActivity > this.opts.queueIdleTimeoutMs) this.queues.delete(id);
    }
  }

  private badQueue(queueId: string): Reply {
    return { status: 400, body: errorBody('BAD_EVENT_QUEUE_ID', `Bad event queue ID: ${queueId}`, { queue_id: queueId }) };
  }

  private register(ctx: RequestContext, user: FakeUser): Reply {
    const types = parseJsonParam(ctx.params, 'event_types');
    if (types !== undefined && !(Array.isArray(types) && types.every((t) => typeof t === 'string'))) {
      throw new ApiError(400, 'BAD_REQUEST', 'event_types is not a list of strings');
    }
    // The state sent back: fetch_event_types, which defaults to event_types (Zulip's /register).
    const fetch = parseJsonParam(ctx.params, 'fetch_event_types') ?? types;
    if (fetch !== undefined && !(Array.isArray(fetch) && fetch.every((t) => typeof t === 'string'))) {
      throw new ApiError(400, 'BAD_REQUEST', 'fetch_event_types is not a list of strings');
    }
    const sends = (kind: string) => fetch === undefined || (fetch as string[]).includes(kind);
    const id = `${this.startedAt}:${this.queueCounter++}`;
    this.queues.set(id, {
      id, user, eventTypes: types === undefined ? null : new Set(types as string[]),
      narrow: parseNarrow(ctx.params), allPublicStreams: parseBool(ctx.params, 'all_public_streams', false),
      applyMarkdown: parseBool(ctx.params, 'apply_markdown', false), events: [], nextEventId: 0,
      rng: mulberry32(this.queueCounter * 7919), lastActivity: Date.now(),
    });
    const last = this.msgs[this.msgs.length - 1];
    return success({
      queue_id: id, last_event_id: -1, max_message_id: last ? last.id : -1,
      event_queue_longpoll_timeout_seconds: this.opts.longpollTimeoutSeconds,
      // The realm's edit limit, as Zulip sends it (null: no limit), with the realm's state only.
      ...(sends('realm') ? { realm_message_content_edit_limit_seconds: this.opts.editLimitSeconds > 0 ? this.opts.editLimitSeconds : null } : {}),
      zulip_feature_level: 300, zulip_version: '10.0', realm_uri: this.url, realm_url: this.url,
    });
  }

  private getEvents(ctx: RequestContext, user: FakeUser): Reply | undefined {
    const queueId = required(ctx.params, 'queue_id');
    this.collectIdleQueues();
    const q = this.queues.get(queueId);
    if (!q) return this.badQueue(queueId);
    if (q.user.id !== user.id) throw new ApiError(400, 'BAD_REQUEST', 'You are not authorized to get events from this queue');
    const lastRaw = ctx.params.last_event_id;
    if (lastRaw !== undefined) {
      const last = Number(lastRaw);
      if (!Number.isInteger(last)) throw new ApiError(400, 'BAD_REQUEST', 'Invalid last_event_id');
      // Zulip's checks (zerver/tornado/views.py get_events_backend, event_queue.prune).
      if (q.newestPrunedId !== undefined && last < q.newestPrunedId) {
        throw new ApiError(400, 'BAD_REQUEST', `An event newer than ${last} has already been pruned!`);
      }
      for (const e of q.events) if (e.id <= last) q.newestPrunedId = e.id;
      q.events = q.events.filter((e) => e.id > last);
      if (q.newestPrunedId !== undefined && last !== q.newestPrunedId) {
        throw new ApiError(400, 'BAD_REQUEST', `Event ${last} was not in this queue`);
      }
    }
    if (q.poll) { // one poll per queue: the older one is answered empty
      clearTimeout(q.poll.timer);
      this.respond(q.poll.ctx, success({ events: [], queue_id: q.id }));
      q.poll = undefined;
    }
    q.lastActivity = Date.now();
    if (q.events.length > 0 || parseBool(ctx.params, 'dont_block', false)) {
      if (this.onEventsReleased && q.events.length > 0) ctx.released = { queueId: q.id, user: q.user.email, events: q.events.slice() };
      return success({ events: this.eventsAnswer(q, ctx), queue_id: q.id });
    }
    const timer = setTimeout(() => this.pushEvent(q, { type: 'heartbeat' }), this.opts.heartbeatMs);
    timer.unref();
    q.poll = { ctx, timer };
    ctx.res.on('close', () => {
      if (q.poll?.ctx !== ctx) return;
      clearTimeout(q.poll.timer);
      q.poll = undefined;
      q.lastActivity = Date.now();
    });
    return undefined;
  }

  // ----- HTTP plumbing -------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrivedAt = performance.now();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const ctx: RequestContext = {
      req, res, method, path: url.pathname, params: {}, drop: false, answered: false, rateHeaders: {},
    };
    ctx.arrivedAt = arrivedAt;
    url.searchParams.forEach((value, key) => { ctx.params[key] = value; });
    try {
      Object.assign(ctx.params, await readParams(req));
    } catch {
      this.respond(ctx, { status: 400, body: errorBody('BAD_REQUEST', 'Malformed request body') });
      return;
    }
    ctx.user = this.authenticate(req.headers.authorization) ?? this.webhookUser(url.pathname, ctx.params.api_key);

    const fault = this.takeFault(method, url.pathname);
    if (fault?.kind === 'hang') return; // never answered; stop() destroys the socket
    if (fault?.kind === 'fail') { this.respondFailure(ctx, fault.status ?? 500, fault); return; }
    if (fault?.kind === 'rateLimit') { this.respondRateLimited(ctx, fault.retryAfter ?? 1, 'rateLimit'); return; }
    ctx.drop = fault?.kind === 'drop';
    if (fault?.kind === 'delay') {
      ctx.faultTag = 'delay';
      const ms = fault.delayMs ?? 0;
      this.delayed++;
      this.delaysTaken++;
      if (fault.effectWhenAnswered) {
        await new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
        if (this.stopped) { this.delayed--; return; }
      } else {
        ctx.delayMs = ms;
      }
      ctx.delayedCounted = true;
    }

    const routePath = url.pathname.startsWith(`${API_PREFIX}/`) ? url.pathname.slice(API_PREFIX.length) : null;
    const candidates = routePath === null ? [] : this.routes.filter((r) => r.pattern.test(routePath));
    const route = candidates.find((r) => r.method === method);
    if (!route || routePath === null) {
      const known = candidates.length > 0;
      this.respond(ctx, { status: known ? 405 : 404, body: errorBody('BAD_REQUEST', known ? 'Method Not Allowed' : 'Not found') });
      return;
    }
    if (!ctx.user) {
      this.respond(ctx, {
        status: 401, body: errorBody('INVALID_API_KEY', 'Invalid API key'),
        headers: { 'WWW-Authenticate': 'Basic realm="zulip"' },
      });
      return;
    }
    const isLongPoll = method === 'GET' && routePath === '/events';
    const limit = this.consumeRate(ctx.user, !isLongPoll);
    ctx.rateHeaders = limit.headers;
    if (!limit.allowed) { this.respondRateLimited(ctx, limit.retryAfter); return; }

    let reply: Reply | undefined;
    try {
      reply = route.handler(ctx, routePath.match(route.pattern) as RegExpMatchArray);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      reply = { status: err.status, body: errorBody(err.code, err.message, err.extra) };
    }
    if (reply) this.respond(ctx, reply);
  }

  /** Incoming webhooks (`/api/v1/external/...`) authenticate with `api_key` in the query, as in Zulip. */
  private webhookUser(path: string, apiKey: string | undefined): FakeUser | undefined {
    if (!path.startsWith(`${API_PREFIX}/external/`) || !apiKey) return undefined;
    return [...this.users.values()].find((u) => u.apiKey === apiKey);
  }

  private authenticate(header: string | undefined): FakeUser | undefined {
    const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = this.findUser(decoded.slice(0, colon));
    return user && user.apiKey === decoded.slice(colon + 1) ? user : undefined;
  }

  private takeFault(method: string, path: string): FaultRule | undefined {
    const rule = this.faults.find((f) => f.remaining > 0
      && (f.path === undefined || f.path.test(path)) && (f.method === undefined || f.method === method));
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining === 0) this.faults.splice(this.faults.indexOf(rule), 1);
    return rule;
  }

  /** Sliding 60 s window per user; `consume` false only reports (GET /events is free). */
  private consumeRate(user: FakeUser, consume: boolean): { allowed: boolean; retryAfter: number; headers: Record<string, string> } {
    const now = Date.now();
    const window = (this.rateWindows.get(user.id) ?? []).filter((t) => now - t < RATE_WINDOW_MS);
    const limit = this.opts.rateLimitPerMinute;
    let allowed = true;
    if (consume) {
      if (window.length >= limit) allowed = false;
      else window.push(now);
    }
    this.rateWindows.set(user.id, window);
    const oldest = window[0];
    const resetAt = oldest === undefined ? now : oldest + RATE_WINDOW_MS;
    return {
      allowed,
      retryAfter: Math.max(0.001, (resetAt - now) / 1000),
      headers: {
        'X-RateLimit-Limit': String(limit),
        'X-RateLimit-Remaining': String(Math.max(0, limit - window.length)),
        'X-RateLimit-Reset': String(Math.ceil(resetAt / 1000)),
      },
    };
  }

  private respondRateLimited(ctx: RequestContext, retryAfter: number, fault?: 'rateLimit'): void {
    this.rateLimitHits += 1;
    const limit = this.opts.rateLimitPerMinute;
    this.respond(ctx, {
      status: 429,
      body: errorBody('RATE_LIMIT_HIT', 'API usage exceeded rate limit', { 'retry-after': retryAfter }),
      headers: {
        'Retry-After': String(Math.ceil(retryAfter)), 'X-RateLimit-Limit': String(limit), 'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000 + retryAfter)),
      },
    }, fault);
  }

  private respondFailure(ctx: RequestContext, status: number, rule?: FaultRule): void {
    if (status < 500) {
      this.respond(ctx, { status, body: errorBody(rule?.code ?? 'BAD_REQUEST', 'Injected failure') }, 'fail');
      return;
    }
    if (rule?.json) {
      // Zulip's json_unhandled_exception: {"result": "error", "msg": "Internal server error"} (no code).
      const msg = status === 500 ? 'Internal server error' : (http.STATUS_CODES[status] ?? 'Error');
      const body: Json = { result: 'error', msg, ...(rule.code !== undefined ? { code: rule.code } : {}) };
      this.respond(ctx, { status, body }, 'fail');
      return;
    }
    const text = `<html>${status} ${http.STATUS_CODES[status] ?? 'Error'}</html>`;
    this.log(ctx, status, 'fail');
    ctx.answered = true;
    ctx.res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text) });
    ctx.res.end(text);
  }

  private respond(ctx: RequestContext, reply: Reply, fault?: 'fail' | 'rateLimit'): void {
    if (ctx.answered || ctx.res.destroyed) { this.settleDelay(ctx); return; }
    if (ctx.delayMs !== undefined && ctx.delayMs > 0) {
      const ms = ctx.delayMs;
      ctx.delayMs = 0;
      setTimeout(() => this.respond(ctx, reply, fault), ms).unref();
      return;
    }
    ctx.answered = true;
    this.settleDelay(ctx);
    const payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
    const headers: Record<string, string> = { 'content-type': 'application/json', ...ctx.rateHeaders, ...reply.headers };
    this.log(ctx, reply.status, fault ?? (ctx.drop ? 'drop' : ctx.faultTag));
    if (!ctx.drop) {
      // The instant the answer is written, taken before the write: taken after it, a bot woken on
      // this core could run first and its reply seemed to come sooner than the bot's own work.
      const writtenAt = performance.now();
      ctx.res.writeHead(reply.status, { ...headers, 'content-length': String(payload.length) });
      ctx.res.end(payload);
      if (ctx.released) this.onEventsReleased?.({ ...ctx.released, at: writtenAt });
      return;
    }
    // A dropped answer is sent chunked: the bot's fetch (and node-fetch 2) then rejects, the answer cut short.
    // (Cut short under a Content-Length, its promise would never settle; hangNext covers that case.)
    ctx.res.writeHead(reply.status, headers);
    ctx.res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => ctx.res.destroy());
  }

  /** A delayed request is answered (or its client gone): no longer counted in delayedInFlight. */
  private settleDelay(ctx: RequestContext): void {
    if (!ctx.delayedCounted) return;
    ctx.delayedCounted = false;
    this.delayed--;
  }

  private log(ctx: RequestContext, status: number, fault?: RequestLogEntry['fault']): void {
    const entry: RequestLogEntry = { at: Date.now(), method: ctx.method, path: ctx.path, status, params: { ...ctx.params } };
    if (ctx.user) entry.user = ctx.user.email;
    if (fault) entry.fault = fault;
    if (ctx.arrivedAt !== undefined) { entry.arrivedAt = ctx.arrivedAt; entry.hrAt = performance.now(); }
    this.requests.push(entry);
    this.onRequest?.(entry);
  }

  // ----- routes --------------------------------------------------------------------------------

  private messageOrThrow(id: string | undefined): FakeMessage {
    const message = this.msgById.get(Number(id));
    if (!message) throw new ApiError(400, 'BAD_REQUEST', 'Invalid message(s)');
    return message;
  }

  private streamById(id: string | undefined): FakeStream {
    const stream = this.streams.get(Number(id));
    if (!stream) throw new ApiError(400, 'BAD_REQUEST', 'Invalid channel ID');
    return stream;
  }

  /** `to` for stream messages: a name, a stream id, or either JSON-encoded (also in a 1-element list). */
  private streamFromTo(to: string): FakeStream {
    let target: unknown = to;
    try { target = JSON.parse(to); } catch { /* a bare name */ }
    if (Array.isArray(target) && target.length === 1) target = target[0];
    if (typeof target === 'number') {
      const byId = this.streams.get(target);
      if (!byId) throw new ApiError(400, 'STREAM_DOES_NOT_EXIST', `Channel with ID '${target}' does not exist`, { stream: String(target) });
      return byId;
    }
    const name = typeof target === 'string' ? target : to;
    const stream = this.findStream(name);
    if (!stream) throw new ApiError(400, 'STREAM_DOES_NOT_EXIST', `Channel '${name}' does not exist`, { stream: name });
    return stream;
  }

  private userJson(u: FakeUser): Json {
    return { user_id: u.id, email: u.email, full_name: u.fullName, is_bot: u.isBot, is_active: true };
  }

  private buildRoutes(): Route[] {
    const me = (ctx: RequestContext): FakeUser => ctx.user as FakeUser; // routes run only once authenticated
    const streamJson = (s: FakeStream): Json => ({ stream_id: s.id, name: s.name, description: '', invite_only: false });
    return [
      { method: 'POST', pattern: /^\/register$/, handler: (ctx) => this.register(ctx, me(ctx)) },
      { method: 'GET', pattern: /^\/events$/, handler: (ctx) => this.getEvents(ctx, me(ctx)) },
      {
        method: 'DELETE', pattern: /^\/events$/, handler: (ctx) => {
          const queueId = required(ctx.params, 'queue_id');
          const q = this.queues.get(queueId);
          if (!q || q.user.id !== me(ctx).id) return this.badQueue(queueId);
          if (q.poll) { clearTimeout(q.poll.timer); this.respond(q.poll.ctx, this.badQueue(queueId)); }
          this.queues.delete(queueId);
          return success();
        },
      },
      {
        method: 'POST', pattern: /^\/messages$/, handler: (ctx) => {
          const type = ctx.params.type ?? 'stream';
          if (type === 'private' || type === 'direct') {
            const to = this.recipientsFromTo(required(ctx.params, 'to'));
            const dm = this.createDirect(me(ctx), to, required(ctx.params, 'content'), clientFromUserAgent(ctx.req.headers['user-agent']));
            return success({ id: dm.id });
          }
          if (type !== 'stream' && type !== 'channel') throw new ApiError(400, 'BAD_REQUEST', 'Invalid type');
          const stream = this.streamFromTo(required(ctx.params, 'to'));
          const topic = ctx.params.topic ?? ctx.params.subject;
          if (topic === undefined) throw new ApiError(400, 'BAD_REQUEST', 'Missing topic');
          const content = required(ctx.params, 'content');
          const message = this.createMessage(me(ctx), stream, topic, content, clientFromUserAgent(ctx.req.headers['user-agent']));
          return success({ id: message.id });
        },
      },
      { method: 'GET', pattern: /^\/messages$/, handler: (ctx) => this.getMessages(ctx) },
      {
        method: 'GET', pattern: /^\/user_groups$/, handler: () => success({
          user_groups: this.userGroups.map((g) => ({ id: g.id, name: g.name, description: '', members: [...g.members], is_system_group: false })),
        }),
      },
      {
        // Zulip's Zabbix integration: the JSON body Zulip's recommended Zabbix webhook sends,
        // posted into topic <hostname> in the format of CONTRACT.md.
        method: 'POST', pattern: /^\/external\/zabbix$/, handler: (ctx) => {
          const stream = this.streamFromTo(required(ctx.params, 'stream'));
          const p = (k: string) => required(ctx.params, k);
          const content = `${p('status')} (${p('severity')}) alert on [${p('hostname')}](${p('link')}):\n* ${p('trigger')}\n* ${p('item')}`;
          const topic = ctx.params.topic ?? p('hostname');
          this.createMessage(me(ctx), stream, topic, content, 'ZulipZabbixWebhook');
          return success();
        },
      },
      {
        method: 'GET', pattern: /^\/messages\/(\d+)$/, handler: (ctx, m) => {
          const message = this.messageOrThrow(m[1]);
          return success({ message: this.wire(message, parseBool(ctx.params, 'apply_markdown', true)), raw_content: message.content });
        },
      },
      {
        method: 'PATCH', pattern: /^\/messages\/(\d+)$/, handler: (ctx, m) => {
          const message = this.messageOrThrow(m[1]);
          const mode = ctx.params.propagate_mode ?? 'change_one';
          if (!['change_one', 'change_later', 'change_all'].includes(mode)) throw new ApiError(400, 'BAD_REQUEST', 'Invalid propagate_mode');
          const { topic, content } = ctx.params;
          const streamId = ctx.params.stream_id;
          if (topic === undefined && content === undefined && streamId === undefined) throw new ApiError(400, 'BAD_REQUEST', 'Nothing to change');
          const newStream = streamId === undefined ? undefined : this.streamById(streamId);
          const newTopic = topic === undefined ? undefined : this.normalizeTopic(topic);
          if (content !== undefined) this.editContent(message, content, me(ctx));
          this.moveMessages(message, mode, newTopic, newStream, me(ctx));
          return success();
        },
      },
      {
        method: 'POST', pattern: /^\/messages\/(\d+)\/reactions$/,
        handler: (ctx, m) => { this.applyReaction(this.messageOrThrow(m[1]), me(ctx), ctx.params, 'add'); return success(); },
      },
      {
        method: 'DELETE', pattern: /^\/messages\/(\d+)\/reactions$/,
        handler: (ctx, m) => { this.applyReaction(this.messageOrThrow(m[1]), me(ctx), ctx.params, 'remove'); return success(); },
      },
      { method: 'GET', pattern: /^\/users$/, handler: () => success({ members: [...this.users.values()].map((u) => this.userJson(u)) }) },
      { method: 'GET', pattern: /^\/users\/me$/, handler: (ctx) => success(this.userJson(me(ctx))) },
      {
        method: 'GET', pattern: /^\/users\/me\/subscriptions$/, handler: (ctx) => success({
          subscriptions: [...this.streams.values()].filter((s) => this.isSubscribed(me(ctx), s.id)).map(streamJson),
        }),
      },
      { method: 'POST', pattern: /^\/users\/me\/subscriptions$/, handler: (ctx) => this.subscribeApi(ctx, me(ctx)) },
      {
        method: 'DELETE', pattern: /^\/users\/me\/subscriptions$/, handler: (ctx) => {
          const names = parseJsonParam(ctx.params, 'subscriptions');
          if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
            throw new ApiError(400, 'BAD_REQUEST', 'subscriptions is not a list of strings');
          }
          const removed: string[] = [];
          const notRemoved: string[] = [];
          for (const name of names as string[]) {
            const stream = this.findStream(name);
            if (stream && this.subscribersOf(stream).delete(me(ctx).id)) removed.push(stream.name);
            else notRemoved.push(name);
          }
          return success({ removed, not_removed: notRemoved });
        },
      },
      {
        method: 'GET', pattern: /^\/users\/([^/]+)$/, handler: (_ctx, m) => {
          const user = this.findUser(decodeURIComponent(m[1] ?? ''));
          if (!user) throw new ApiError(400, 'BAD_REQUEST', 'No such user');
          return success({ user: this.userJson(user) });
        },
      },
      {
        method: 'GET', pattern: /^\/users\/(\d+)\/subscriptions\/(\d+)$/, handler: (_ctx, m) => {
          const user = this.users.get(Number(m[1]));
          if (!user) throw new ApiError(400, 'BAD_REQUEST', 'No such user');
          return success({ is_subscribed: this.isSubscribed(user, this.streamById(m[2]).id) });
        },
      },
      { method: 'GET', pattern: /^\/streams$/, handler: () => success({ streams: [...this.streams.values()].map(streamJson) }) },
      {
        method: 'GET', pattern: /^\/get_stream_id$/, handler: (ctx) => {
          const name = required(ctx.params, 'stream');
          const stream = this.findStream(name);
          if (!stream) throw new ApiError(400, 'BAD_REQUEST', `Invalid channel name '${name}'`);
          return success({ stream_id: stream.id });
        },
      },
      {
        method: 'GET', pattern: /^\/streams\/(\d+)\/members$/,
        handler: (_ctx, m) => success({ subscribers: [...this.subscribersOf(this.streamById(m[1]))].sort((a, b) => a - b) }),
      },
    ];
  }

  private subscribeApi(ctx: RequestContext, caller: FakeUser): Reply {
    const subs = parseJsonParam(ctx.params, 'subscriptions');
    if (!Array.isArray(subs)) throw new ApiError(400, 'BAD_REQUEST', 'subscriptions is not a list');
    const names = subs.map((s: unknown) => (s && typeof s === 'object' ? (s as { name?: unknown }).name : s));
    if (!names.every((n): n is string => typeof n === 'string' && n.trim() !== '')) {
      throw new ApiError(400, 'BAD_REQUEST', 'Invalid subscriptions');
    }
    const principals = parseJsonParam(ctx.params, 'principals');
    const targets = principals === undefined ? [caller] : (Array.isArray(principals) ? principals : []).map((p: unknown) => {
      const user = this.findUser(String(p));
      if (!user) throw new ApiError(400, 'BAD_REQUEST', `No such user: ${String(p)}`);
      return user;
    });
    const subscribed: Record<string, string[]> = {};
    const already: Record<string, string[]> = {};
    for (const name of names) {
      const stream = this.ensureStream(name.trim());
      for (const user of targets) {
        const set = this.subscribersOf(stream);
        const bucket = set.has(user.id) ? already : subscribed;
        set.add(user.id);
        (bucket[user.email] ??= []).push(stream.name);
      }
    }
    return success({ subscribed, already_subscribed: already });
  }

  /** Zulip's GET /messages windowing (zerver/lib/narrow.py post_process_limited_query). */
  private getMessages(ctx: RequestContext): Reply {
    const numBefore = parseNonNegativeInt(ctx.params, 'num_before', 0);
    const numAfter = parseNonNegativeInt(ctx.params, 'num_after', 0);
    if (numBefore + numAfter > MAX_MESSAGES_PER_FETCH) {
      throw new ApiError(400, 'BAD_REQUEST', `Too many messages requested (maximum ${MAX_MESSAGES_PER_FETCH}).`);
    }
    const narrow = parseNarrow(ctx.params);
    const includeAnchor = parseBool(ctx.params, 'include_anchor', true);
    const html = parseBool(ctx.params, 'apply_markdown', true);
    const rawAnchor = ctx.params.anchor ?? 'newest';
    // A `dm` narrow searches the caller's direct messages; every other narrow the stream messages.
    const dm = narrow.find((t) => t.operator === 'dm');
    const matching: (FakeMessage | FakeDirectMessage)[] = dm
      ? this.dms.filter((m) => dmMatches(dm.operand, m, ctx.user) !== dm.negated
        && m.display_recipient.some((p) => p.id === ctx.user?.id)
        && narrow.every((t) => t.operator === 'dm' || (t.operator === 'sender' && (sameName(m.sender_email, t.operand) || String(m.sender_id) === t.operand) !== t.negated)))
      : this.msgs.filter((m) => narrowMatches(narrow, m));

    let anchor: number;
    let before: (FakeMessage | FakeDirectMessage)[];
    let anchorRows: (FakeMessage | FakeDirectMessage)[];
    let after: (FakeMessage | FakeDirectMessage)[];
    let foundOldest: boolean;
    let foundNewest: boolean;
    if (rawAnchor === 'newest') {
      anchor = LARGER_THAN_MAX_MESSAGE_ID;
      before = numBefore > 0 ? matching.slice(-numBefore) : [];
      anchorRows = [];
      after = [];
      foundOldest = matching.length < numBefore;
      foundNewest = true;
    } else {
      const anchoredLeft = rawAnchor === 'oldest' || rawAnchor === 'first_unread';
      if (!anchoredLeft && !/^\d+$/.test(rawAnchor)) throw new ApiError(400, 'BAD_REQUEST', 'Invalid anchor');
      anchor = anchoredLeft ? 0 : Number(rawAnchor);
      const allBefore = matching.filter((m) => m.id < anchor);
      const allAfter = matching.filter((m) => m.id > anchor);
      before = numBefore > 0 ? allBefore.slice(-numBefore) : [];
      anchorRows = matching.filter((m) => m.id === anchor);
      after = allAfter.slice(0, numAfter);
      foundOldest = anchoredLeft || allBefore.length < numBefore;
      foundNewest = allAfter.length < numAfter;
    }
    const foundAnchor = anchorRows.length === 1;
    const rows = [...before, ...(includeAnchor ? anchorRows : []), ...after];
    return success({
      messages: rows.map((m) => ({ ...this.wire(m, html), flags: m.sender_id === ctx.user?.id ? ['read'] : [] })),
      anchor, found_anchor: foundAnchor, found_oldest: foundOldest, found_newest: foundNewest, history_limited: false,
    });
  }
}
