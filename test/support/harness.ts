/**
 * The in-process bot for tests: the whole app (createApp) over a real SQLite store in a temp dir,
 * the in-memory Zulip API and a manual clock. Events go straight into the pipeline (no poller,
 * no sender, no ticker): what the bot says is read back from the store's outbox.
 *
 *   const bot = await inProcessBot({ config: { timezone: 'Europe/Amsterdam' } });
 *   await bot.alert({ eventId: '1', trigger: 'SSH service is down on web-01' });
 *   await bot.say('!ack on it');
 *   expect(bot.replies().map((r) => r.content)).toContain(...);
 *
 * After every event (alert, say, dm, moveTopic, advance) what the bot queued is delivered: taken
 * out of the store's outbox into `replies()`, as the sender would (so `store.size()` is 0 between
 * events). Then the due after-commit jobs run and the harness waits for them, delivering what they
 * say meanwhile; pass `{ jobs: 'start' }` to only start them (a job whose work the test holds
 * back), or `{ jobs: 'none' }`.
 *
 * Clean-up: a bot made inside a test (or a beforeEach) is closed after that test, one made in a
 * beforeAll after the file's tests (root hooks registered below, when the file imports this
 * module). The root afterEach runs before a file's own root-level afterEach hooks: those must not
 * use a bot made in the test. `close()` may also be called by hand and is idempotent. Closing
 * stops the job runner, closes the store and removes the temp dir. (The app's sender, poller and
 * ticker are never started, so they are not stopped either.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app/app';
import type { BotConfig } from '../../src/config/schema';
import { ManualClock } from '../../src/core/clock';
import { silentLogger, type Logger } from '../../src/core/log';
import { SEVERITY_CLASS, streamForClass, type Severity } from '../../src/domain/classes';
import { parseDuration } from '../../src/domain/duration';
import type { TopicRef } from '../../src/domain/incident';
import type { Metrics } from '../../src/ops/metrics';
import type { BotModule } from '../../src/pipeline/module';
import { openSqliteStore } from '../../src/store/sqlite-store';
import type { Store } from '../../src/store/store';
import type { ZabbixApi } from '../../src/zabbix/client';
import type { GitlabApi } from '../../src/gitlab/api';
import type { DirectMessage, StreamMessage, ZulipUser } from '../../src/zulip/api';
import { alertPost, testConfig } from './factories';
import { MemoryZulip } from './memory-zulip';

/** A fixed Monday morning (UTC), inside the default working hours in Europe/Amsterdam. */
export const HARNESS_START = '2026-11-23T09:00:00Z';

/** What the bot queued: a stream message (stream, topic) or a direct message (to). */
export type Reply =
  | { stream: string; topic: string; content: string; to?: undefined; card?: string }
  | { to: string[]; content: string; stream?: undefined; topic?: undefined; card?: undefined };

/** What to do with the after-commit jobs after an event: run and wait (default), only start them, or leave them. */
export type JobsMode = 'wait' | 'start' | 'none';

export type Person = 'ann' | 'bob' | Pick<ZulipUser, 'id' | 'email' | 'fullName'>;

export interface BotOptions {
  /** testConfig overrides. */
  config?: Record<string, unknown>;
  /** Start time: ISO text or milliseconds (default HARNESS_START). */
  at?: number | string;
  /** A Zabbix API; when given and `config.zabbix` is not, the config gets a Zabbix URL and token so the app uses it. */
  zabbix?: ZabbixApi;
  /** A GitLab API; when given and `config.gitlab` is not, the config gets a GitLab URL, token and project so the app uses it. */
  gitlab?: GitlabApi;
  metrics?: Metrics;
  /** Changes the module list before the pipeline is built (createApp's `modules`). */
  modules?: (modules: BotModule[]) => BotModule[];
  log?: Logger;
  /**
   * Deliver an outbox item only once the clock reaches its time, as the sender does: a topic's
   * first message held while a storm may be starting stays queued (and may be folded into the
   * storm summary). Default: everything queued is delivered after each event.
   */
  holds?: boolean;
}

export interface AlertInput {
  host?: string;
  eventId: string;
  triggerId?: string;
  trigger?: string;
  item?: string;
  severity?: Severity;
  status?: 'PROBLEM' | 'OK';
  /** Default: the stream of the severity's class. */
  stream?: string;
  /** Default: the host. */
  topic?: string;
}

export interface EventOptions {
  jobs?: JobsMode;
}

export interface SayOptions extends EventOptions {
  /** Default: the critical stream. */
  stream?: string;
  /** Default: 'web-01.example.org' (the factories' host). */
  topic?: string;
  as?: Person;
}

export interface AdvanceOptions extends EventOptions {
  /** One scheduler round per simulated second (default: one round at the end). */
  everySecond?: boolean;
  /** Run the scheduler round(s) at all (default true). */
  tick?: boolean;
}

export interface InProcessBot {
  readonly store: Store;
  readonly clock: ManualClock;
  /** The current app (a new one after `restart()`). */
  readonly app: App;
  readonly api: MemoryZulip;
  readonly config: BotConfig;
  /** The temp dir holding the store (removed by close()). */
  readonly dir: string;
  /** Posts a Zabbix alert as the alert sender; returns the posted message. */
  alert(a: AlertInput, opts?: EventOptions): Promise<StreamMessage>;
  /** A person's message (or command) in an SRE stream. */
  say(content: string, opts?: SayOptions): Promise<StreamMessage>;
  /** A direct message to the bot. */
  dm(content: string, as?: Person, opts?: EventOptions): Promise<DirectMessage>;
  /** A person's emoji reaction added (or removed) on a message (default: Ann, `add`). */
  react(messageId: number, emojiName: string, opts?: EventOptions & { as?: Person; op?: 'add' | 'remove' }): Promise<void>;
  /** A topic renamed or moved; a bare string is a topic of the critical stream (for `to`: of `from`'s stream). */
  moveTopic(from: TopicRef | string, to: TopicRef | string, byUserId?: number, opts?: EventOptions): Promise<void>;
  /** Moves the clock ("30s", "1h" or ms), then runs the scheduler round(s) and the due jobs. */
  advance(duration: string | number, opts?: AdvanceOptions): Promise<void>;
  /** Runs the due after-commit jobs and waits for them. */
  runJobs(): Promise<void>;
  /** What the bot queued since the last call (taken out of the outbox). */
  replies(): Reply[];
  /** Everything the bot queued so far. */
  all(): Reply[];
  /** Reactions the bot queued so far. */
  reactions(): { messageId: number; emojiName: string }[];
  /**
   * The bot's stream messages as "Zulip" has them now (ids, topics after moves, a card's newest
   * content), oldest first: e.g. to react on a reminder or the status card.
   */
  botMessages(): StreamMessage[];
  /** Edits of cards (messages kept up to date) so far: the card's key and its new content. */
  cardEdits(): { key: string; content: string }[];
  /** The id the harness gives a stream (the same as api.streams()); new names get new ids. */
  streamId(name: string): number;
  /** A new app over the same store, clock and Zulip (a restart of the process). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const open = new Map<InProcessBot, 'test' | 'file'>();
/** True while a test (with its beforeEach hooks) runs; false in beforeAll. */
let inTest = false;

async function closeAll(scope: 'test' | 'file'): Promise<void> {
  for (const [bot, s] of [...open]) if (s === scope || scope === 'file') await bot.close();
}

// Registered once per test file that imports the harness (each file gets its own module registry).
if (typeof beforeEach === 'function') beforeEach(() => void (inTest = true));
if (typeof afterEach === 'function') {
  afterEach(async () => {
    inTest = false;
    await closeAll('test');
  });
}
if (typeof afterAll === 'function') afterAll(() => closeAll('file'));

const ALERT_SENDER_ID = 9;
const PEOPLE: Record<'ann' | 'bob', number> = { ann: 2, bob: 3 };

export async function inProcessBot(opts: BotOptions = {}): Promise<InProcessBot> {
  const overrides = { ...(opts.config ?? {}) };
  if (opts.zabbix && overrides.zabbix === undefined) overrides.zabbix = { url: 'https://zabbix.example.org', token: 'test-token' };
  if (opts.gitlab && overrides.gitlab === undefined) overrides.gitlab = { url: 'https://git.example.org', token: 'test-token', project: 'sre/incidents' };
  const config = testConfig(overrides);
  const start = opts.at === undefined ? Date.parse(HARNESS_START) : typeof opts.at === 'string' ? Date.parse(opts.at) : opts.at;
  if (!Number.isFinite(start)) throw new Error(`inProcessBot: bad start time ${String(opts.at)}`);
  const clock = new ManualClock(start);
  const dir = mkdtempSync(join(tmpdir(), 'sre-harness-'));
  let store: Store;
  try {
    store = openSqliteStore(join(dir, 'bot.db'));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const api = new MemoryZulip();
  const log = opts.log ?? silentLogger;

  // Stream ids, the same as the fake Zulip's stream list.
  const s = config.streams;
  api.streams_ = [s.critical, s.nonCritical, s.informational, s.general, s.organisational].map((name, n) => ({ id: n + 1, name }));
  const streamId = (name: string): number => {
    const known = api.streams_.find((x) => x.name === name);
    if (known) return known.id;
    const id = Math.max(0, ...api.streams_.map((x) => x.id)) + 1;
    api.streams_.push({ id, name });
    return id;
  };

  const me = await api.me();
  const build = (): App =>
    createApp({
      config,
      api,
      store,
      me,
      log,
      clock,
      ticker: { start: () => {}, stop: async () => {} },
      ...(opts.zabbix ? { zabbix: opts.zabbix } : {}),
      ...(opts.gitlab ? { gitlab: opts.gitlab } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.modules ? { modules: opts.modules } : {}),
    });
  let app: App;
  try {
    app = build();
  } catch (err) {
    store.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let nextId = 100;
  /** Ids of the bot's messages: apart from people's and alerts' (tests name those by number). */
  let botId = 800_000;
  const pending: Reply[] = [];
  const history: Reply[] = [];
  const reacted: { messageId: number; emojiName: string }[] = [];
  const cardEdits: { key: string; content: string }[] = [];
  let closed = false;

  const person = (p: Person = 'ann'): Pick<ZulipUser, 'id' | 'email' | 'fullName'> => {
    if (typeof p !== 'string') return p;
    const u = api.users_.find((x) => x.id === PEOPLE[p]);
    if (!u) throw new Error(`inProcessBot: no user ${p}`);
    return u;
  };
  const seconds = () => Math.floor(clock.now() / 1000);
  /** A stream message now in "Zulip" (api.getMessage finds it). */
  const posted = (id: number, stream: string, topic: string, content: string, by: Pick<ZulipUser, 'id' | 'email' | 'fullName'>, client = 'website'): StreamMessage => {
    const m: StreamMessage = { id, streamId: streamId(stream), stream, topic, content, senderId: by.id, senderEmail: by.email, senderName: by.fullName, client, timestamp: seconds() };
    api.inZulip.push(m);
    return m;
  };

  // With `holds`, an item waits until the clock reaches its time (a held first message, src/features/runbook/advisor.ts).
  const nextRow = () => (opts.holds ? store.pending(100_000).find((r) => r.notBefore <= clock.now()) : store.peek());
  const drain = (): void => {
    for (let row = nextRow(); row; row = nextRow()) {
      const item = row.item;
      if (item.kind === 'message') {
        const r: Reply = { stream: item.stream, topic: item.topic, content: item.content };
        posted(++botId, item.stream, item.topic, item.content, me);
        pending.push(r);
        history.push(r);
      } else if (item.kind === 'direct') {
        const r: Reply = { to: [...item.to], content: item.content };
        pending.push(r);
        history.push(r);
      } else if (item.kind === 'card') {
        // As the sender does: the first update posts the card, later ones edit it in place (a card
        // whose message is not known, id 0, is posted afresh).
        const known = store.getCard(item.key);
        if (known && known.messageId > 0) {
          cardEdits.push({ key: item.key, content: item.content });
          const m = api.inZulip.find((x) => x.id === known.messageId);
          if (m) m.content = item.content;
          store.putCard({ ...known, stream: item.stream, topic: item.topic, content: item.content });
        } else {
          const r: Reply = { stream: item.stream, topic: item.topic, content: item.content, card: item.key };
          const m = posted(++botId, item.stream, item.topic, item.content, me);
          pending.push(r);
          history.push(r);
          store.putCard({ key: item.key, messageId: m.id, stream: item.stream, topic: item.topic, content: item.content, postedAt: clock.now() });
        }
      } else {
        reacted.push({ messageId: item.messageId, emojiName: item.emojiName });
      }
      store.remove(row.id);
    }
  };

  /**
   * After each event: what the bot queued is delivered (taken out of the outbox, as the sender
   * would: jobs may wait for the topic's replies to be sent first), then the due jobs run.
   */
  const jobs = async (mode: JobsMode = 'wait'): Promise<void> => {
    drain();
    if (mode === 'none') return;
    // runDue starts the due jobs synchronously; 'start' leaves them running.
    const done = app.jobs.runDue();
    if (mode === 'start') {
      done.catch(() => undefined);
      return;
    }
    let settled = false;
    void done.finally(() => (settled = true));
    // Keep delivering while the jobs run (a job may say something and then wait for it to be sent).
    for (let spins = 0; !settled; spins++) {
      await (spins < 100 ? Promise.resolve() : new Promise((r) => setTimeout(r, 5)));
      if (!closed) drain();
    }
    await done;
  };

  const check = () => {
    if (closed) throw new Error('inProcessBot: used after close()');
  };

  const ref = (t: TopicRef | string, fallbackStream: string): TopicRef => (typeof t === 'string' ? { stream: fallbackStream, topic: t } : t);

  const bot: InProcessBot = {
    store,
    clock,
    get app() {
      return app;
    },
    api,
    config,
    dir,

    async alert(a, o = {}) {
      check();
      const host = a.host ?? 'web-01.example.org';
      const severity = a.severity ?? 'High';
      const stream = a.stream ?? streamForClass(config.streams, SEVERITY_CLASS[severity]);
      const content = alertPost({
        host,
        eventId: a.eventId,
        severity,
        ...(a.triggerId !== undefined ? { triggerId: a.triggerId } : {}),
        ...(a.trigger !== undefined ? { trigger: a.trigger } : {}),
        ...(a.item !== undefined ? { item: a.item } : {}),
        ...(a.status !== undefined ? { status: a.status } : {}),
      });
      const sender = config.alerts.senders[0] as string;
      const m = posted(++nextId, stream, a.topic ?? host, content, { id: ALERT_SENDER_ID, email: sender, fullName: 'Zabbix' }, 'ZulipZabbixWebhook');
      await app.pipeline.onMessage(m);
      await jobs(o.jobs);
      return m;
    },

    async say(content, o = {}) {
      check();
      const u = person(o.as);
      const stream = o.stream ?? config.streams.critical;
      const m = posted(++nextId, stream, o.topic ?? 'web-01.example.org', content, u);
      await app.pipeline.onMessage(m);
      await jobs(o.jobs);
      return m;
    },

    async dm(content, as, o = {}) {
      check();
      const u = person(as);
      const m: DirectMessage = { id: ++nextId, senderId: u.id, senderEmail: u.email, senderName: u.fullName, content, timestamp: seconds() };
      await app.pipeline.onDirectMessage(m);
      await jobs(o.jobs);
      return m;
    },

    async react(messageId, emojiName, o = {}) {
      check();
      const u = person(o.as);
      await app.pipeline.onReaction({ op: o.op ?? 'add', messageId, emojiName, userId: u.id });
      await jobs(o.jobs);
    },

    async moveTopic(fromT, toT, byUserId = PEOPLE.ann, o = {}) {
      check();
      const from = ref(fromT, config.streams.critical);
      const to = ref(toT, from.stream);
      // As in Zulip: the topic's messages move with it.
      for (const m of api.inZulip) {
        if (m.stream === from.stream && m.topic.toLowerCase() === from.topic.toLowerCase()) {
          m.stream = to.stream;
          m.topic = to.topic;
          m.streamId = streamId(to.stream);
        }
      }
      await app.pipeline.onTopicMove({ messageIds: [], fromStreamId: streamId(from.stream), toStreamId: streamId(to.stream), fromTopic: from.topic, toTopic: to.topic, byUserId });
      await jobs(o.jobs);
    },

    async advance(d, o = {}) {
      check();
      const ms = typeof d === 'number' ? d : parseDuration(d);
      if (ms === undefined || ms < 0) throw new Error(`inProcessBot.advance: not a duration: ${String(d)}`);
      if (o.tick === false) {
        clock.advance(ms);
      } else if (o.everySecond) {
        const end = clock.now() + ms;
        while (clock.now() < end) {
          clock.advance(Math.min(1_000, end - clock.now()));
          app.tick(clock.now());
        }
      } else {
        clock.advance(ms);
        app.tick(clock.now());
      }
      await jobs(o.jobs);
    },

    runJobs: () => jobs('wait'),

    replies() {
      drain();
      return pending.splice(0);
    },

    all() {
      drain();
      return [...history];
    },

    reactions() {
      drain();
      return [...reacted];
    },

    cardEdits() {
      drain();
      return [...cardEdits];
    },

    botMessages() {
      drain();
      return api.inZulip.filter((m) => m.senderId === me.id).map((m) => ({ ...m }));
    },

    streamId,

    async restart() {
      check();
      await app.jobs.stop(100);
      app = build();
    },

    async close() {
      if (closed) return;
      closed = true;
      open.delete(bot);
      try {
        // Only the job runner ever ran (no poller, sender or ticker): stopping it aborts jobs in flight.
        await app.jobs.stop(100);
      } finally {
        try {
          store.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    },
  };
  open.set(bot, inTest ? 'test' : 'file');
  return bot;
}
