/**
 * One seeded chaos run: the built bot (`node dist/src/main.js`) against the fake Zulip server,
 * fed N Zabbix alerts in quick bursts (several hosts and classes, repeats, OKs, `!ack`s) while
 * faults fire between the bursts: expired event queues, 5xx answers (a proxy's HTML page or
 * Zulip's own JSON error body), 429 with retry-after, answers cut mid-response, a long-poll hung
 * past its timeout, a send answered (and, half the time, carried out) only after the client
 * timeout, message events out of message-id order (in one batch or a later one), an event id
 * the queue never issued, SIGKILL + restart of the bot, and a few seconds in which the bot's
 * store cannot write (disk full or an I/O error: the test-only SRE_BOT_TEST_STORE_FAULT_FILE of
 * src/store/fault.ts, a file the run creates and removes).
 *
 * Every random choice comes from one seeded PRNG and is made up front (`planChaos`), so a seed
 * replays the same schedule; only the timing of the bot against it varies between runs.
 *
 * At the end the run checks, from the bot's SQLite store, its logs and what the fake received:
 * - every PROBLEM event is tracked exactly once (one incident, one 'opened', its count one per
 *   PROBLEM post and no more), every OK applied, every `!ack` applied (unless resolved);
 * - every reminder that fell due while a bot process was running is posted at least once;
 *   the engine never fires two reminders for an incident within its interval, and no reminder
 *   round is posted twice; no outgoing item is posted twice (two messages with one send key);
 * - no process died other than the ones killed on purpose, the last one exits 0 on SIGTERM,
 *   and no log line is an error or fatal (but the one line per store outage, when one was injected);
 * - the store window: each process that saw it said so once in SRE - General (topic
 *   "Bot health") and, when it saw the end, said that once too; no message was skipped (the
 *   checks above: every alert tracked once, every command answered once).
 */
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite-store';
import { splitSendKey } from '../../src/zulip/zulip-js-api';
import { SEVERITY_CLASS, streamForClass, type IncidentClass, type Severity } from '../../src/domain/classes';
import { BotProcess, setUpWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';
import { FakeZulip, type FakeMessage, type RequestLogEntry } from '../support/fake-zulip';
import { rng } from '../support/prng';

// ---------------------------------------------------------------------------------------------
// Options and report
// ---------------------------------------------------------------------------------------------

export interface ChaosOptions {
  /** Distinct PROBLEM events posted (repeats, OKs and acks come on top). */
  alerts: number;
  /** Hosts (= topics per stream). Default 30. */
  hosts?: number;
  /** How many SIGKILL + restart cycles, [min, max]. Default [1, 3]. */
  kills?: [number, number];
  /** Hang one long-poll past the bot's client timeout (longpoll + 15 s: makes the run ~20 s longer). */
  hang?: boolean;
  /** One window of 2-5 s in which the bot's store cannot write (default true). */
  storeFault?: boolean;
  /** One send answered 16-18 s late, past the bot's 15 s client timeout (makes the run ~15 s longer). */
  slow?: boolean;
  /** Keep the run's directory (config, store, bot logs) even when it passes. */
  keepDir?: boolean;
  /** Extra bot config, merged over the run's (the checks still expect CHAOS_SLA: for testing the checks). */
  botConfig?: Record<string, unknown>;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  problems: string[];
  alerts: number;
  /** Messages posted by the Zabbix user and the humans. */
  posts: number;
  tracked: number;
  repeats: number;
  oks: number;
  ackCommands: number;
  acked: number;
  faults: {
    expire: number; '5xx': number; hang: number; '429': number; drop: number; store: number;
    /** Of the 5xx, those with Zulip's JSON error body. */
    '5xx-json': number;
    /** Sends answered past the client timeout; message events delivered out of order; unknown event ids handed out. */
    slow: number; reorder: number; 'unknown-event-id': number;
  };
  kills: number;
  processes: number;
  /** Timer ticks node-cron reported missed (the bot process too busy): informational. */
  cronMissed: number;
  /** Store outages the bot processes logged (each process that saw the store window logs one). */
  storeOutages: number;
  /** Error lines other parts logged for a store failure during the window (tolerated, shown). */
  storeErrorLines: number;
  reminders: {
    /** Incidents that stayed unacknowledged, while a bot process ran, well past their reminder time. */
    due: number;
    /** Of those, how many got a reminder. */
    posted: number;
    /** Reminder rounds the engine fired (incident history) and reminder messages Zulip got. */
    fired: number;
    messages: number;
    /** Engine fired twice within the interval, or one round posted twice. */
    duplicates: number;
    /** Rounds of one incident that reached Zulip closer together than its interval because the outbox was held up (faults, restarts); informational. */
    bunched: number;
  };
  seconds: number;
  dir: string;
}

export function formatReport(r: ChaosReport): string {
  const f = r.faults;
  const rem = r.reminders;
  return (
    `seed=${r.seed} alerts=${r.alerts} tracked=${r.tracked} oks=${r.oks} acks=${r.ackCommands} ` +
    `faults={expire:${f.expire},5xx:${f['5xx']}(json:${f['5xx-json']}),hang:${f.hang},429:${f['429']},drop:${f.drop},store:${f.store},` +
    `slow:${f.slow},reorder:${f.reorder},unknownEventId:${f['unknown-event-id']}} kills=${r.kills} ` +
    `reminders due=${rem.due} posted=${rem.posted} duplicates=${rem.duplicates} | ` +
    `repeats=${r.repeats} acked=${r.acked} posts=${r.posts} fired=${rem.fired} reminderMessages=${rem.messages} bunched=${rem.bunched} ` +
    `storeOutages=${r.storeOutages} storeErrorLines=${r.storeErrorLines} cronMissed=${r.cronMissed} time=${r.seconds.toFixed(1)}s` +
    (r.problems.length > 0 ? ` PROBLEMS=${r.problems.length} {${problemKinds(r.problems)}}` : '')
  );
}

/** "reminder-gap:17,alert-count:1": the problems counted by their [tag]. */
export function problemKinds(problems: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const p of problems) {
    const tag = /^\[([a-z-]+)\]/.exec(p)?.[1] ?? 'other';
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}:${n}`).join(',');
}

// ---------------------------------------------------------------------------------------------
// The scenario: SLA and the plan
// ---------------------------------------------------------------------------------------------

/** Second-scale reminders; deadlines far away (warnings are not what this run looks at). */
export const CHAOS_SLA = {
  critical: { remindEvery: '2s', resolveWithin: '1h' },
  nonCritical: { remindEvery: '4s', ackWithin: '1h', resolveWithin: '7d' },
  informational: { remindEvery: '4s', ackWithin: '1h' },
};
const REMIND_MS: Record<IncidentClass, number> = { critical: 2_000, 'non-critical': 4_000, informational: 4_000 };
/** Timer rounds run every second; reminder times come from whole-second post timestamps. */
const DUE_GRACE_MS = 2_000;
const GAP_TOLERANCE_MS = 500;
/**
 * A topic's round takes along what falls due within its coalescing window (src/domain/timers.ts
 * coalesceWindow: min(60 s, remindEvery / 4)), so one incident's reminders may come that much
 * closer together than remindEvery.
 */
const coalesceMs = (every: number) => Math.min(60_000, Math.floor(every / 4));

const SEVERITY_WEIGHTS: Record<Severity, number> = { Disaster: 1, High: 3, Average: 2, Warning: 2, Information: 1.5, 'Not classified': 0.5 };
const TRIGGERS: Record<IncidentClass, string[]> = {
  critical: ['HTTPS is down', 'Host unreachable', 'Database replication broken'],
  'non-critical': ['Disk space low', 'CPU load high', 'Swap usage high'],
  informational: ['Package updates available', 'Certificate expires soon', 'Backup took long'],
};

export interface PlannedEvent {
  eventId: string;
  host: string;
  severity: Severity;
  cls: IncidentClass;
  stream: string;
  topic: string;
  triggerId: string;
  trigger: string;
  /** The model's state after every planned post (posts are handled in id order). */
  problemPosts: number;
  status: 'open' | 'acknowledged' | 'resolved';
  acked: boolean;
  resolved: boolean;
  /** Index (in plan order) of the first PROBLEM post and of the OK post that resolved it. */
  firstPost: number;
  resolvingPost?: number;
}

export type PlannedPost =
  | { n: number; kind: 'problem'; ev: PlannedEvent; repeat: boolean }
  | { n: number; kind: 'ok'; ev: PlannedEvent; effective: boolean }
  | { n: number; kind: 'ack'; stream: string; topic: string; by: 'ann' | 'bob'; eventId?: string; acks: string[] }
  | { n: number; kind: 'chatter'; stream: string; topic: string };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type FaultKind = 'expire' | '5xx' | '429' | 'drop' | 'hang' | 'store' | 'slow' | 'reorder' | 'unknown-event-id';
export type PlannedFault =
  | { type: 'expire' }
  /** `body: 'json'`: Zulip's own JSON error body (else a proxy's HTML page). */
  | { type: '5xx'; n: number; status: 500 | 502 | 503; body?: 'json' }
  /** The next send is answered `ms` late (past the client timeout); carried out at once or only then. */
  | { type: 'slow'; ms: number; effect: 'at-once' | 'when-answered' }
  /** The next n message events come after the following one's, in the same GET /events answer or a later one. */
  | { type: 'reorder'; n: number; sameBatch: boolean }
  /** The next events answer carries an event id the queue never issued. */
  | { type: 'unknown-event-id' }
  | { type: '429'; n: number; retryAfter: number }
  | { type: 'drop' }
  | { type: 'hang' }
  /** The bot's store cannot write for `ms` (disk full, or an I/O error), starting before a burst. */
  | { type: 'store'; ms: number; kind: 'full' | 'ioerr' };

export type Step =
  | { kind: 'burst'; posts: PlannedPost[] }
  | { kind: 'pause'; ms: number }
  | { kind: 'fault'; fault: PlannedFault }
  /** SIGKILL; `startingUp`: right after a restart, while it starts or catches up (else once it is live). */
  | { kind: 'kill'; startingUp?: boolean; afterLiveMs?: number }
  /** Starts the bot again; `startupFault`: its first request (GET /users/me) fails first. */
  | { kind: 'restart'; startupFault?: '5xx' | '429' };

export interface ChaosPlan {
  seed: number;
  events: PlannedEvent[];
  posts: PlannedPost[];
  steps: Step[];
}

/** Every random choice of a run, made up front from the seed. */
export function planChaos(seed: number, opts: ChaosOptions): ChaosPlan {
  const r = rng(seed);
  const hostCount = opts.hosts ?? 30;
  const hosts = Array.from({ length: hostCount }, (_, i) => `host-${String(i + 1).padStart(2, '0')}.example.org`);
  const events: PlannedEvent[] = [];
  const posts: PlannedPost[] = [];
  const steps: Step[] = [];
  const byTopic = new Map<string, PlannedEvent[]>();
  const topicKey = (stream: string, topic: string) => `${stream}\u0000${topic}`;
  let nextEventId = 700_001;

  const add = (p: DistributiveOmit<PlannedPost, 'n'>, into: PlannedPost[]): PlannedPost => {
    const post = { ...p, n: posts.length } as PlannedPost;
    posts.push(post);
    into.push(post);
    return post;
  };
  const newProblem = (into: PlannedPost[]) => {
    const severity = r.weighted(SEVERITY_WEIGHTS);
    const cls = SEVERITY_CLASS[severity];
    const hostIndex = r.int(0, hosts.length - 1);
    const host = hosts[hostIndex] as string;
    const k = r.int(0, 2);
    const ev: PlannedEvent = {
      eventId: String(nextEventId++),
      host,
      severity,
      cls,
      stream: streamForClass(STREAMS, cls),
      topic: host,
      triggerId: String(10_000 + hostIndex * 10 + ['critical', 'non-critical', 'informational'].indexOf(cls) * 3 + k),
      trigger: `${TRIGGERS[cls][k]} on ${host}`,
      problemPosts: 1,
      status: 'open',
      acked: false,
      resolved: false,
      firstPost: posts.length,
    };
    events.push(ev);
    const key = topicKey(ev.stream, ev.topic);
    byTopic.set(key, [...(byTopic.get(key) ?? []), ev]);
    add({ kind: 'problem', ev, repeat: false }, into);
  };
  const notResolved = () => events.filter((e) => e.status !== 'resolved');

  const bursts = Math.max(6, Math.round(opts.alerts / 28));
  const [killMin, killMax] = opts.kills ?? [1, 3];
  const killCount = Math.min(r.int(killMin, killMax), Math.floor((bursts - 3) / 3));
  // Kills after distinct bursts, leaving room for the restart (after 0-2 bursts) before the next.
  const killAfter = new Set<number>();
  for (let tries = 0; killAfter.size < killCount && tries < 1000; tries++) {
    const b = r.int(1, bursts - 3);
    if ([...killAfter].every((x) => Math.abs(x - b) >= 3)) killAfter.add(b);
  }
  const hangAfter = opts.hang ? r.int(0, Math.min(2, bursts - 1)) : -1;
  // The store window has its own PRNG (from the same seed): the rest of a seed's plan is what it
  // was before the window was added.
  const rs = rng((seed ^ 0x5707e) >>> 0);
  const storeBefore = opts.storeFault === false ? -1 : rs.int(1, bursts - 2);
  const storeFault: PlannedFault = { type: 'store', ms: rs.int(2_000, 5_000), kind: rs.chance(0.75) ? 'full' : 'ioerr' };
  // The transport faults of the red-team review (JSON 5xx, a slow send, events out of order,
  // unknown event ids) have their own PRNG too.
  const rt = rng((seed ^ 0x7a2e5) >>> 0);
  const slowAfter = opts.slow ? rt.int(0, Math.min(2, bursts - 1)) : -1;
  const slowFault: PlannedFault = { type: 'slow', ms: rt.int(16_000, 18_000), effect: rt.chance(0.5) ? 'at-once' : 'when-answered' };
  const transportFault = (): PlannedFault | undefined => {
    if (!rt.chance(0.4)) return undefined;
    const type = rt.weighted({ '5xx-json': 1.2, reorder: 1.5, 'unknown-event-id': 0.6 });
    if (type === '5xx-json') return { type: '5xx', n: rt.int(1, 2), status: rt.pick([500, 502, 503] as const), body: 'json' };
    if (type === 'reorder') return { type: 'reorder', n: rt.int(1, 3), sameBatch: rt.chance(0.6) };
    return { type: 'unknown-event-id' };
  };

  /** A restart; sometimes Zulip fails its first request, sometimes it is killed again while it starts up or catches up. */
  const restart = () => {
    const startupFault = r.chance(0.25) ? r.pick(['5xx', '429'] as const) : undefined;
    steps.push({ kind: 'restart', ...(startupFault ? { startupFault } : {}) });
    if (r.chance(0.35)) {
      steps.push({ kind: 'pause', ms: r.int(30, 700) });
      steps.push({ kind: 'kill', startingUp: true });
      steps.push({ kind: 'pause', ms: r.int(0, 500) });
      steps.push({ kind: 'restart' });
    }
  };

  let left = opts.alerts;
  let downFor = -1; // bursts still to post while the bot is down; -1: it runs
  for (let b = 0; b < bursts; b++) {
    const count = b === bursts - 1 ? left : Math.min(left, Math.max(1, Math.round((left / (bursts - b)) * (0.6 + r.next() * 0.8))));
    left -= count;
    const burst: PlannedPost[] = [];
    for (let i = 0; i < count; i++) {
      newProblem(burst);
      if (r.chance(0.08)) {
        const ev = r.pick(events);
        ev.problemPosts++;
        add({ kind: 'problem', ev, repeat: true }, burst);
      }
      if (r.chance(0.3)) {
        const open = notResolved();
        if (open.length > 0) {
          const ev = r.pick(open);
          ev.status = 'resolved';
          ev.resolved = true;
          ev.resolvingPost = posts.length;
          add({ kind: 'ok', ev, effective: true }, burst);
        }
      }
      if (r.chance(0.01)) {
        const done = events.filter((e) => e.status === 'resolved');
        if (done.length > 0) add({ kind: 'ok', ev: r.pick(done), effective: false }, burst);
      }
      if (r.chance(0.1)) {
        const withOpen = [...byTopic.values()].filter((l) => l.some((e) => e.status === 'open'));
        const list = withOpen.length > 0 && r.chance(0.9) ? r.pick(withOpen) : r.pick([...byTopic.values()]);
        const first = list[0] as PlannedEvent;
        const by = r.chance(0.5) ? 'ann' : 'bob';
        const open = list.filter((e) => e.status === 'open');
        if (open.length > 0 && r.chance(0.3)) {
          const ev = r.pick(open);
          ev.status = 'acknowledged';
          ev.acked = true;
          add({ kind: 'ack', stream: first.stream, topic: first.topic, by, eventId: ev.eventId, acks: [ev.eventId] }, burst);
        } else {
          for (const ev of open) {
            ev.status = 'acknowledged';
            ev.acked = true;
          }
          add({ kind: 'ack', stream: first.stream, topic: first.topic, by, acks: open.map((e) => e.eventId) }, burst);
        }
      }
      if (r.chance(0.02)) {
        const ev = r.pick(events);
        add({ kind: 'chatter', stream: ev.stream, topic: ev.topic }, burst);
      }
    }
    if (b === storeBefore) steps.push({ kind: 'fault', fault: storeFault });
    // Before the burst, so that a reorder meets its posts.
    const transport = transportFault();
    if (transport) steps.push({ kind: 'fault', fault: transport });
    steps.push({ kind: 'burst', posts: burst });
    if (b === hangAfter) steps.push({ kind: 'fault', fault: { type: 'hang' } });
    if (b === slowAfter) steps.push({ kind: 'fault', fault: slowFault });
    if (r.chance(0.45)) {
      const type = r.weighted({ expire: 1, '5xx': 1.2, '429': 1, drop: 1 });
      const fault: PlannedFault =
        type === 'expire'
          ? { type }
          : type === '5xx'
            ? { type, n: r.int(1, 2), status: r.pick([500, 502, 503] as const) }
            : type === '429'
              ? { type, n: r.int(1, 2), retryAfter: 1 }
              : { type };
      steps.push({ kind: 'fault', fault });
    }
    if (downFor === 0) {
      steps.push({ kind: 'pause', ms: r.int(0, 500) });
      restart();
      downFor = -1;
    } else if (downFor > 0) {
      downFor--;
    }
    if (killAfter.has(b) && downFor < 0) {
      // A random moment while the bot works through the burst (or idles after it).
      steps.push({ kind: 'pause', ms: r.int(0, 300) });
      steps.push({ kind: 'kill', afterLiveMs: r.int(0, 400) });
      downFor = r.int(0, 2);
      if (downFor === 0) {
        steps.push({ kind: 'pause', ms: r.int(0, 800) });
        restart();
        downFor = -1;
      } else {
        downFor--;
      }
    }
    steps.push({ kind: 'pause', ms: r.int(80, 280) });
  }
  if (downFor >= 0) restart();
  return { seed, events, posts, steps };
}

// ---------------------------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------------------------

interface ProcRecord {
  n: number;
  proc: BotProcess;
  startedAt: number;
  endedAt?: number;
  /** Set just before we kill it: an exit after that is ours. */
  expected: boolean;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number; expected: boolean };
  /** Its stdout and stderr, split into whole lines (a chunk may end mid-line). */
  lines: string[];
  /** It logged 'polling live' (registered and caught up). */
  live: boolean;
}

interface LogLine {
  level?: number;
  time?: number;
  msg?: string;
  messageId?: number;
  outcome?: string;
  err?: unknown;
  [k: string]: unknown;
}

/**
 * Any request but the start-up ones, GET /users/me and GET /streams (src/main.ts): a starting bot
 * retries those with a backoff that grows to 30 s, so faults left over from a killed process
 * would pile up on them. Restarts get their own single startup fault instead.
 */
const ANY_BUT_IDENTITY = /^\/api\/v1\/(?!users\/me$|streams$)/;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The bot's one error line per store outage (src/store/watch.ts), and the topic of its notices. */
const STORE_OUTAGE = /^store: cannot write: .*; intake stopped until the store can write again/;
const STORE_TOPIC = 'Bot health';

function parse(line: string): LogLine | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' ? (v as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits for a log line of this process, scanning only lines not seen before. */
async function waitForLine(rec: ProcRecord, pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
  const until = Date.now() + timeoutMs;
  let i = 0;
  for (;;) {
    const out = rec.lines;
    for (; i < out.length; i++) {
      const l = parse(out[i] as string);
      if (l && pred(l)) return l;
    }
    if (rec.exit) throw new Error(`bot process #${rec.n} exited while waiting for ${what}`);
    if (Date.now() > until) throw new Error(`${what}: not seen within ${timeoutMs} ms; last lines of bot #${rec.n}:\n${out.slice(-10).join('\n')}`);
    await sleep(25);
  }
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** Runs one seed. Never throws for a failed check: the report lists the problems. */
export async function chaosRun(seed: number, opts: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const plan = planChaos(seed, opts);
  const progress = (line: string) => opts.progress?.(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${line}`);
  const problems: string[] = [];
  const fake = await FakeZulip.start({ heartbeatMs: 500, longpollTimeoutSeconds: 2, rateLimitPerMinute: 1_000_000 });
  const w: World = setUpWorld(fake, { sla: CHAOS_SLA, rateLimit: { perMinute: 10_000 }, log: { level: 'info' }, ...opts.botConfig });
  const procs: ProcRecord[] = [];
  let current: ProcRecord | undefined;
  const postedAt = new Map<number, { id: number; at: number }>(); // plan index -> message
  const counts = { expire: 0, hang: 0, store: 0, json5xx: 0 };
  const hang: { injectedAt?: number; recoveredAt?: number } = {};
  // The store window: the bot's store fails while this file exists (src/store/fault.ts).
  const faultFile = join(w.dir, 'store.fault');
  const storeWindows: { from: number; to?: number; kind: string }[] = [];
  let storeWindowOver: Promise<void> = Promise.resolve();
  let sentinel: FakeMessage | undefined;
  let obsEnd = Date.now();
  let ongoingReply: FakeMessage | undefined;

  // Faults wait until the bot is live: piled up on a starting bot, they only stretch its
  // startup backoff (up to 30 s) and the run with it.
  const deferred: PlannedFault[] = [];
  const applyFault = (f: PlannedFault) => {
    if (f.type === 'expire') {
      fake.expireAllQueues();
      counts.expire++;
    } else if (f.type === '5xx') {
      fake.failNext(f.n, { status: f.status, path: ANY_BUT_IDENTITY, ...(f.body ? { body: f.body } : {}) });
      if (f.body === 'json') counts.json5xx += f.n;
    } else if (f.type === '429') fake.rateLimitNext(f.n, f.retryAfter, { path: ANY_BUT_IDENTITY });
    else if (f.type === 'drop') fake.dropNext(1, { path: /\/api\/v1\/(events|messages)/ });
    else if (f.type === 'slow') {
      fake.delayNext(1, f.ms, { method: 'POST', path: /^\/api\/v1\/messages$/, effect: f.effect });
      progress(`seed ${seed}: the next send is answered ${f.ms} ms late (${f.effect})`);
    } else if (f.type === 'reorder') fake.deliverOutOfOrderNext(f.n, { sameBatch: f.sameBatch });
    else if (f.type === 'unknown-event-id') fake.unknownEventIdNext(1);
    else if (f.type === 'store') {
      writeFileSync(faultFile, f.kind);
      const window: { from: number; to?: number; kind: string } = { from: Date.now(), kind: f.kind };
      storeWindows.push(window);
      counts.store++;
      progress(`seed ${seed}: the store cannot write (${f.kind}) for ${f.ms} ms`);
      storeWindowOver = sleep(f.ms).then(() => {
        unlinkSync(faultFile);
        window.to = Date.now();
        progress(`seed ${seed}: the store writes again`);
      });
    } else {
      fake.hangNext(1, { path: /\/api\/v1\/events$/ });
      hang.injectedAt = Date.now();
      counts.hang++;
    }
  };

  const start = (): ProcRecord => {
    const rec: ProcRecord = { n: procs.length + 1, proc: BotProcess.start(w.configPath, { SRE_BOT_TEST_STORE_FAULT_FILE: faultFile }), startedAt: Date.now(), expected: false, lines: [], live: false };
    const partial = { out: '', err: '' };
    const collect = (which: 'out' | 'err') => (chunk: Buffer) => {
      const text = partial[which] + chunk.toString('utf8');
      const parts = text.split('\n');
      partial[which] = parts.pop() ?? '';
      for (const l of parts) {
        if (l.trim() === '') continue;
        rec.lines.push(l);
        if (!rec.live && l.includes('"msg":"polling live"')) {
          rec.live = true;
          if (current === rec) for (const f of deferred.splice(0)) applyFault(f);
        }
      }
    };
    rec.proc.child.stdout?.on('data', collect('out'));
    rec.proc.child.stderr?.on('data', collect('err'));
    rec.proc.child.on('exit', (code, signal) => {
      for (const rest of [partial.out, partial.err]) if (rest.trim() !== '') rec.lines.push(rest);
      partial.out = partial.err = '';
      rec.exit = { code, signal, at: Date.now(), expected: rec.expected };
      rec.endedAt ??= rec.exit.at;
    });
    procs.push(rec);
    current = rec;
    return rec;
  };

  const awaitHangRecovery = async () => {
    if (hang.injectedAt === undefined || hang.recoveredAt !== undefined || !current) return;
    progress(`seed ${seed}: waiting for the bot to give up on the hung long-poll`);
    const line = await waitForLine(current, (l) => l.msg === 'Zulip events failed; retrying' && /no answer within/.test(String(l.err)), 40_000, 'recovery from the hung long-poll');
    hang.recoveredAt = line.time ?? Date.now();
    progress(`seed ${seed}: the bot gave up on the hung long-poll after ${hang.recoveredAt - (hang.injectedAt ?? 0)} ms`);
  };

  const post = (p: PlannedPost): void => {
    let m: FakeMessage;
    if (p.kind === 'problem' || p.kind === 'ok') {
      const { ev } = p;
      const content = alertPost({ status: p.kind === 'ok' ? 'OK' : 'PROBLEM', severity: ev.severity, host: ev.host, eventId: ev.eventId, triggerId: ev.triggerId, trigger: ev.trigger, item: `${ev.trigger} value` });
      m = fake.post(w.zabbix.email, ev.stream, ev.topic, content, { client: 'ZulipZabbixWebhook' });
    } else if (p.kind === 'ack') {
      const who = p.by === 'ann' ? w.ann : w.bob;
      m = fake.post(who.email, p.stream, p.topic, p.eventId ? `!ack ${p.eventId} looking at it` : '!ack on it');
    } else {
      m = fake.post(w.ann.email, p.stream, p.topic, 'looking into this one');
    }
    postedAt.set(p.n, { id: m.id, at: Date.now() });
  };

  try {
    // ----- the run --------------------------------------------------------------------------
    const first = start();
    await first.proc.live(15_000);
    progress(`seed ${seed}: bot live, ${plan.steps.length} steps`);
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'burst':
          for (const p of step.posts) post(p);
          break;
        case 'pause':
          await sleep(step.ms);
          break;
        case 'fault':
          if (current?.live) applyFault(step.fault);
          else deferred.push(step.fault);
          break;
        case 'kill': {
          // A kill during the hang would end it before the bot's own timeout is exercised.
          await awaitHangRecovery();
          const rec = current as ProcRecord;
          if (!step.startingUp && !rec.live) {
            // A bot killed again and again before it ever catches up tests little: the ordinary
            // kills come once it is live (the pause before them picks the moment).
            await waitForLine(rec, (l) => l.msg === 'polling live', 60_000, 'the restarted bot going live');
            await sleep(step.afterLiveMs ?? 0);
          }
          rec.expected = true;
          rec.endedAt = Date.now();
          await rec.proc.kill('SIGKILL');
          current = undefined;
          progress(`seed ${seed}: killed bot #${rec.n}`);
          break;
        }
        case 'restart':
          if (step.startupFault === '5xx') fake.failNext(1, { status: 503, path: /\/api\/v1\/users\/me$/ });
          if (step.startupFault === '429') fake.rateLimitNext(1, 1, { path: /\/api\/v1\/users\/me$/ });
          start();
          break;
      }
    }
    if (!current) start();
    await awaitHangRecovery();
    // A store window still deferred (the bot was not live) opens once it is: the end waits for it.
    for (const until = Date.now() + 60_000; deferred.some((f) => f.type === 'store') && Date.now() < until; ) await sleep(50);
    await storeWindowOver;
    if (storeWindows.length > 0 && current) {
      // The bot sees the store write again (its outage over), then the reminders the window held
      // back (a topic's are lined up with its next round: up to one interval) fall due again.
      const rec = current;
      const outageSeen = () => rec.lines.some((l) => STORE_OUTAGE.test(parse(l)?.msg ?? ''));
      if (outageSeen()) await waitForLine(rec, (l) => l.msg === 'store writes again; intake resumed', 30_000, 'the bot seeing its store write again');
      await sleep(Math.max(...Object.values(REMIND_MS)) + 1_000);
    }
    // A send answered late (a slow fault) is part of the scenario: its answer comes before the end.
    await fake.waitFor(() => fake.delayedInFlight() === 0, 40_000, 'the late answers of slow sends');

    // ----- the end: let reminders fall due, then a sentinel command shows the bot caught up --
    progress(`seed ${seed}: schedule done; waiting for the last reminders and the sentinel`);
    await sleep(2_000);
    const bot = current as ProcRecord;
    sentinel = fake.post(w.ann.email, STREAMS.general, 'chaos end', '!ongoing');
    ongoingReply = await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === 'chaos end', { afterId: sentinel.id, timeoutMs: 60_000 });
    const handledLine = await waitForLine(bot, (l) => l.messageId === sentinel?.id, 5_000, 'the sentinel in the log');
    obsEnd = handledLine.time ?? Date.now();
    // Topics go out side by side: the sentinel's answer may overtake what other topics still
    // have queued (an item a killed process was sending waits up to 20 s before it is sent again).
    const outboxDepth = () => {
      const db = new Database(join(w.dir, 'bot.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    await fake.waitFor(() => outboxDepth() === 0, 40_000, "the bot's outbox to empty").catch((err: Error) => progress(`seed ${seed}: ${err.message}`));
    progress(`seed ${seed}: sentinel handled +${obsEnd - (sentinel.timestamp * 1000)} ms after posting, answered; SIGTERM`);
    bot.expected = true;
    bot.endedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([bot.proc.kill('SIGTERM'), new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 8_000)))]);
    clearTimeout(timer);
    if (code === 'timeout') {
      problems.push('[shutdown] the bot did not exit within 8 s of SIGTERM');
      await bot.proc.kill('SIGKILL');
    } else if (code !== 0) {
      problems.push(`[shutdown] the bot exited with code ${String(code)} on SIGTERM (expected 0)`);
    }
  } catch (err) {
    problems.push(`[aborted] run aborted: ${(err as Error).stack ?? String(err)}`);
    for (const rec of procs) {
      if (!rec.exit) {
        rec.expected = true;
        await rec.proc.kill('SIGKILL');
      }
    }
  }
  await fake.stop();

  // ----- checks -------------------------------------------------------------------------------
  const logs = procs.map((rec) => ({ rec, lines: rec.lines.map((l) => ({ raw: l, json: parse(l) })) }));

  // No crash other than the injected kills; nothing logged as an error.
  let cronMissed = 0;
  let storeErrorLines = 0;
  const inStoreWindow = (t: number | undefined) => t !== undefined && storeWindows.some((win) => t >= win.from && t <= (win.to ?? obsEnd) + 5_000);
  for (const rec of procs) {
    if (rec.exit && !rec.exit.expected) problems.push(`[crash] bot process #${rec.n} exited by itself (code ${String(rec.exit.code)}, signal ${String(rec.exit.signal)})`);
  }
  for (const { rec, lines } of logs) {
    for (const { raw, json } of lines) {
      if (!json) {
        // node-cron's own warning when the process was too busy to run a tick on time.
        if (/\[NODE-CRON\].*\[WARN\].*missed execution/.test(raw)) {
          cronMissed++;
          continue;
        }
        problems.push(`[crash] bot #${rec.n} wrote a non-log line: ${raw.slice(0, 300)}`);
        continue;
      }
      // The one line per store outage, when the run made the store fail (checked below); and what
      // other parts log at error level when the store fails under them while the window is open
      // (counted in the report: storeErrorLines).
      if (json.level === 50 && storeWindows.length > 0 && STORE_OUTAGE.test(json.msg ?? '')) continue;
      if (json.level === 50 && inStoreWindow(json.time) && (json.err as { type?: string } | undefined)?.type === 'StoreUnavailableError') {
        storeErrorLines++;
        continue;
      }
      if ((json.level ?? 0) >= 50) problems.push(`[error-log] bot #${rec.n} logged ${json.level === 60 ? 'FATAL' : 'ERROR'}: ${json.msg ?? ''} ${JSON.stringify(json).slice(0, 400)}`);
    }
  }

  // When the bot handled which message (first time; a replay after a kill shows as a second line).
  const handledAt = new Map<number, number>();
  for (const { lines } of logs) {
    for (const { json } of lines) {
      if (!json || typeof json.messageId !== 'number' || typeof json.time !== 'number') continue;
      if (!/^alert |^command |^alert changes nothing/.test(json.msg ?? '')) continue;
      if (!handledAt.has(json.messageId)) handledAt.set(json.messageId, json.time);
    }
  }
  // The stretches during which a bot process ran its timers.
  const alive: { n: number; from: number; to: number }[] = [];
  for (const { rec, lines } of logs) {
    const started = lines.find((l) => l.json?.msg === 'zulip-sre-bot starting')?.json?.time;
    if (typeof started === 'number') alive.push({ n: rec.n, from: started, to: rec.endedAt ?? obsEnd });
  }
  // A bot whose store cannot write cannot record (nor so post) a reminder: the store windows,
  // and the second after each (the outage ends at the store watch's next probe), do not count.
  for (const win of storeWindows) {
    const cutFrom = win.from;
    const cutTo = (win.to ?? obsEnd) + 1_000;
    for (const a of alive.splice(0)) {
      if (a.to <= cutFrom || a.from >= cutTo) alive.push(a);
      else {
        if (a.from < cutFrom) alive.push({ ...a, to: cutFrom });
        if (a.to > cutTo) alive.push({ ...a, from: cutTo });
      }
    }
  }

  /** Which processes logged handling this event's posts: a replay after a SIGKILL shows up here. */
  const replayHint = (ev: PlannedEvent): string => {
    const ids = new Set(plan.posts.filter((p) => p.kind === 'problem' && p.ev === ev).map((p) => postedAt.get(p.n)?.id));
    const seen = logs.flatMap(({ rec, lines }) => lines.filter((l) => ids.has(l.json?.messageId as number)).map((l) => `#${rec.n} ${String(l.json?.outcome)} (message ${String(l.json?.messageId)})`));
    return seen.length > 0 ? `; logged by bot ${seen.join(', ')}${procs.some((p) => p.exit?.signal === 'SIGKILL') ? ' — a message handled, then its process SIGKILLed before the cursor moved past it, is handled again on restart' : ''}` : '';
  };

  let storeOutages = 0;
  const store = openSqliteStore(join(w.dir, 'bot.db'));
  let due = 0;
  let covered = 0;
  let fired = 0;
  let duplicates = 0;
  let bunched = 0;
  let reminderMessages = 0;
  let tracked = 0;
  let acked = 0;
  try {
    // Every bot message with the time Zulip got it (ms): the request log, in creation order.
    // (A send whose client died before the answer is not in the request log: whole seconds then.)
    // Each outgoing item carries its send key (the fake shows it as `sendKey`, the content as
    // readers see it): one key twice is one item posted twice.
    const botMessages = fake.messagesBy(w.bot.email).sort((a, b) => a.id - b.id);
    const byKey = new Map<string, FakeMessage>();
    for (const m of botMessages) {
      if (m.sendKey === undefined) continue;
      const earlier = byKey.get(m.sendKey);
      if (earlier) problems.push(`[posted-twice] one outgoing item (send key ${m.sendKey}) posted twice in ${m.display_recipient} > ${m.subject}: messages ${earlier.id} and ${m.id}: ${m.content.slice(0, 80)}`);
      else byKey.set(m.sendKey, m);
    }
    const norm = (topic: string, content: string) => `${topic.trim()}\u0000${splitSendKey(content).content.trimEnd().replace(/^\n+/, '')}`;
    const sends = new Map<string, RequestLogEntry[]>();
    for (const q of fake.requests) {
      if (q.method !== 'POST' || q.path !== '/api/v1/messages' || q.status !== 200 || q.user !== w.bot.email) continue;
      const key = norm(q.params.topic ?? q.params.subject ?? '', q.params.content ?? '');
      sends.set(key, [...(sends.get(key) ?? []), q]);
    }
    const sendOf = new Map<number, RequestLogEntry>();
    for (const m of botMessages) {
      const q = sends.get(norm(m.subject, m.content))?.shift();
      if (q) sendOf.set(m.id, q);
    }
    const at = (m: FakeMessage) => sendOf.get(m.id)?.at ?? m.timestamp * 1000;
    /** Why Zulip got the same message twice: an injected fault explains it, or nothing does. */
    const whyTwice = (first: FakeMessage, again: FakeMessage): { explained: boolean; why: string } => {
      const q = sendOf.get(first.id);
      if (q?.fault === 'drop') return { explained: true, why: 'the answer to the first send was cut (injected drop), so it was sent again' };
      const killed = procs.find((p) => p.exit?.signal === 'SIGKILL' && p.endedAt !== undefined && p.endedAt >= at(first) - 50 && p.endedAt <= at(again));
      if (killed) return { explained: true, why: `bot #${killed.n} was SIGKILLed ${Math.max(0, (killed.endedAt as number) - at(first))} ms after Zulip took the first, before it recorded the send; the next process sent it again` };
      if (!q) return { explained: true, why: 'the first send got no answer (its process died)' };
      return { explained: false, why: 'no injected fault between the two sends' };
    };

    // Reminder rounds: one message per topic per round, each line naming `(event N)`.
    const reminderMsgs = botMessages.filter((m) => m.content.includes('⏰'));
    reminderMessages = reminderMsgs.length;
    const remindersOf = new Map<string, FakeMessage[]>();
    const seenRound = new Map<string, FakeMessage>();
    for (const m of reminderMsgs) {
      const key = `${m.display_recipient}\u0000${m.subject}\u0000${m.content}`;
      const earlier = seenRound.get(key);
      if (earlier) {
        duplicates++;
        const w2 = whyTwice(earlier, m);
        problems.push(`[${w2.explained ? 'reminder-resent' : 'reminder-twice'}] reminder round posted twice in ${m.display_recipient} > ${m.subject}: messages ${earlier.id} and ${m.id}, ${at(m) - at(earlier)} ms apart: ${w2.why}`);
        continue;
      }
      seenRound.set(key, m);
      // `(event 7001)`, or `(event [7001](zabbix link))` where the alert gave a link.
      for (const [, id] of m.content.matchAll(/\(event \[?(\d+)(?:\]\([^)\s]*\))?\)/g)) remindersOf.set(id as string, [...(remindersOf.get(id as string) ?? []), m]);
    }
    // Any other message of the bot posted twice (a send retried after Zulip had taken it), and
    // one answer per `!ack` typed (a command handled twice answers twice).
    const seenOther = new Map<string, FakeMessage>();
    const resends = new Set<number>();
    /** Answers that may rightly come twice in a topic, word for word. */
    const repeatable = /^(Nothing to acknowledge|Already acknowledged|No open incident with event id)/;
    for (const m of botMessages) {
      if (m.content.includes('⏰') || m.subject === STORE_TOPIC) continue; // store notices: checked below
      const key = `${m.display_recipient}\u0000${m.subject}\u0000${m.content}`;
      const earlier = seenOther.get(key);
      seenOther.set(key, m);
      if (!earlier) continue;
      const w2 = whyTwice(earlier, m);
      if (w2.explained) resends.add(m.id);
      else if (repeatable.test(m.content)) continue;
      problems.push(`[${w2.explained ? 'resent' : 'said-twice'}] bot message posted twice in ${m.display_recipient} > ${m.subject}: messages ${earlier.id} and ${m.id}, ${at(m) - at(earlier)} ms apart (${w2.why}): ${m.content.slice(0, 80)}`);
    }
    const acksIn = new Map<string, number>();
    for (const p of plan.posts) if (p.kind === 'ack' && postedAt.has(p.n)) acksIn.set(`${p.stream}\u0000${p.topic}`, (acksIn.get(`${p.stream}\u0000${p.topic}`) ?? 0) + 1);
    const answersIn = new Map<string, number>();
    for (const m of botMessages) {
      if (resends.has(m.id) || !/^(✅ Acknowledged by|Nothing to acknowledge|Already acknowledged|No open incident with event id)/.test(m.content)) continue;
      answersIn.set(`${m.display_recipient}\u0000${m.subject}`, (answersIn.get(`${m.display_recipient}\u0000${m.subject}`) ?? 0) + 1);
    }
    for (const [key, typed] of acksIn) {
      const answered = answersIn.get(key) ?? 0;
      if (answered !== typed) problems.push(`[ack-answers] ${key.replace('\u0000', ' > ')}: !ack typed ${typed}× but answered ${answered}× (not counting resent answers): a command handled ${answered > typed ? 'twice' : 'not at all'}`);
    }

    // The store window: said once per process that saw it, the end once per process that saw it end.
    if (storeWindows.length > 0) {
      const notices = botMessages.filter((m) => m.display_recipient === STREAMS.general && m.subject === STORE_TOPIC);
      const down = notices.filter((m) => m.content.startsWith('⚠️ My store cannot write'));
      const up = notices.filter((m) => m.content.startsWith('✅ My store writes again'));
      const outages = logs.map(({ rec, lines }) => ({
        rec,
        began: lines.filter((l) => l.json?.level === 50 && STORE_OUTAGE.test(l.json.msg ?? '')).length,
        // A process killed right after it saw the end may not have written that line (log lines
        // leave in batches a few ms apart): the next one, finding its notice queued, says so.
        ended: lines.filter((l) => l.json?.msg === 'store writes again; intake resumed' || l.json?.msg === 'the store outage said before the restart: its end is already queued').length,
      }));
      const began = outages.reduce((n, o) => n + o.began, 0);
      const ended = outages.reduce((n, o) => n + o.ended, 0);
      storeOutages = began;
      for (const o of outages) if (o.began > 1) problems.push(`[store-outage] bot #${o.rec.n} logged ${o.began} store outages for one window (expected at most 1)`);
      if (began === 0 && procs.some((p) => p.live)) progress(`seed ${seed}: no process saw the store window (it wrote nothing meanwhile)`);
      if (down.length > began) problems.push(`[store-notice] "cannot write" said ${down.length}× for ${began} outages seen (at most once each)`);
      const refused = logs.some(({ lines }) => lines.some((l) => l.json?.msg === 'could not tell the team that the store cannot write; trying again'));
      if (began > 0 && down.length === 0 && !refused) problems.push(`[store-notice] ${began} store outages logged but the team was never told (nor was it tried)`);
      if (up.length > down.length || up.length > ended) problems.push(`[store-notice] "writes again" said ${up.length}× for ${down.length} outages said and ${ended} ends seen`);
      const last = outages.at(-1);
      if (last && last.began > 0 && last.ended === 0) problems.push(`[store-outage] bot #${last.rec.n} (the last) saw the store fail but never saw it write again`);
      if (last && last.ended > 0 && down.length > 0 && up.length === 0) problems.push('[store-notice] the outage was said but its end never was');
    }

    const outboxLeft = store.size();
    if (outboxLeft > 0) progress(`seed ${seed}: ${outboxLeft} outgoing items still queued after SIGTERM`);

    // Message events the fake delivered out of order: when the pair came in separate GET /events
    // answers the bot handles it in the order it got it, so an `!ack` swapped with a PROBLEM or OK
    // of its topic covers what was open when it ran — either outcome is right for that event.
    const postOf = new Map<number, PlannedPost>();
    for (const p of plan.posts) {
      const m = postedAt.get(p.n);
      if (m) postOf.set(m.id, p);
    }
    const orderAmbiguous = new Set<string>();
    for (const { held, after } of fake.outOfOrderPairs) {
      const a = postOf.get(held);
      const b = after === undefined ? undefined : postOf.get(after);
      if (!a || !b) continue;
      for (const [ack, other] of [[a, b], [b, a]] as const) {
        if (ack.kind !== 'ack' || (other.kind !== 'problem' && other.kind !== 'ok')) continue;
        if (other.ev.stream === ack.stream && other.ev.topic === ack.topic) orderAmbiguous.add(other.ev.eventId);
      }
    }
    if (orderAmbiguous.size > 0) progress(`seed ${seed}: ${orderAmbiguous.size} events' !ack delivered out of order with their alert: either outcome accepted`);

    const byId = new Map(plan.events.map((e) => [e.eventId, e]));
    // When the engine reminded each topic (its rounds, from every incident's history there): a
    // topic gets one reminder message per interval, so a reminder falling due just after the
    // topic's round waits for the next one (src/domain/timers.ts topicHold).
    const topicRounds = new Map<string, number[]>();
    for (const ev of plan.events) {
      const inc = store.getIncident(ev.eventId);
      if (!inc) continue;
      const key = `${inc.stream}\u0000${inc.topic}\u0000${ev.cls}`;
      const list = topicRounds.get(key) ?? [];
      for (const h of store.history(ev.eventId)) if (h.kind === 'reminder') list.push(h.at);
      topicRounds.set(key, list);
    }
    for (const open of store.openIncidents()) {
      if (!byId.has(open.eventId)) problems.push(`[phantom] event ${open.eventId}: open incident that was never posted`);
    }
    for (const ev of plan.events) {
      const inc = store.getIncident(ev.eventId);
      const firstMsg = postedAt.get(ev.firstPost);
      if (!firstMsg) continue; // the run aborted before it was posted
      if (!inc) {
        problems.push(`[lost-alert] event ${ev.eventId} (${ev.severity}, ${ev.topic}, message ${firstMsg.id}): PROBLEM posted but not tracked`);
        continue;
      }
      tracked++;
      const hist = store.history(ev.eventId);
      if (hist.some((h) => h.kind === 'acknowledged')) acked++;
      const n = (k: string) => hist.filter((h) => h.kind === k).length;
      const problemPosts = plan.posts.filter((p) => p.kind === 'problem' && p.ev === ev && postedAt.has(p.n)).length;
      if (n('opened') !== 1) problems.push(`[tracked-twice] event ${ev.eventId}: ${n('opened')} 'opened' entries in its history (expected 1)`);
      if (inc.alertCount !== problemPosts) {
        problems.push(`[alert-count] event ${ev.eventId}: PROBLEM posted ${problemPosts}× but counted ${inc.alertCount}×: an alert post was handled ${inc.alertCount > problemPosts ? 'twice' : 'not at all'}${replayHint(ev)}`);
      }
      if (inc.stream !== ev.stream || inc.topic !== ev.topic) problems.push(`[wrong-topic] event ${ev.eventId}: tracked in ${inc.stream} > ${inc.topic}, posted in ${ev.stream} > ${ev.topic}`);
      const okPosted = ev.resolvingPost !== undefined && postedAt.has(ev.resolvingPost);
      const ackPlanned = plan.posts.filter((p) => p.kind === 'ack' && p.acks.includes(ev.eventId) && postedAt.has(p.n)).length > 0;
      const expected = okPosted ? 'resolved' : ackPlanned ? 'acknowledged' : 'open';
      const eitherAck = orderAmbiguous.has(ev.eventId);
      const accepted = (status: string) => status === expected || (eitherAck && !okPosted && (status === 'open' || status === 'acknowledged'));
      if (!accepted(inc.status)) problems.push(`[status] event ${ev.eventId}: status ${inc.status}, expected ${expected}${okPosted ? ' (its OK was posted)' : ackPlanned ? ' (!ack posted in its topic)' : ''}`);
      if (okPosted && (inc.resolution !== 'ok-alert' || n('resolved') !== 1)) problems.push(`[ok] event ${ev.eventId}: resolution ${String(inc.resolution)} with ${n('resolved')} 'resolved' entries (expected one, by its OK)`);
      if (n('acknowledged') !== (ackPlanned ? 1 : 0) && !(eitherAck && n('acknowledged') <= 1)) problems.push(`[ack] event ${ev.eventId}: ${n('acknowledged')} 'acknowledged' entries (expected ${ackPlanned ? 1 : 0})`);

      // Reminders: the engine's rounds for this incident (history), and what reached Zulip.
      const every = REMIND_MS[ev.cls];
      const fires = hist.filter((h) => h.kind === 'reminder').map((h) => h.at);
      fired += fires.length;
      for (let i = 1; i < fires.length; i++) {
        const gap = (fires[i] as number) - (fires[i - 1] as number);
        if (gap < every - coalesceMs(every) - GAP_TOLERANCE_MS) {
          duplicates++;
          problems.push(`[reminder-gap] event ${ev.eventId} (${ev.cls}, every ${every} ms): reminders fired ${gap} ms apart (rounds #${i} and #${i + 1} at +${(fires[i - 1] as number) - inc.openedAt} and +${(fires[i] as number) - inc.openedAt} ms after it opened)`);
        }
      }
      const delivered = remindersOf.get(ev.eventId) ?? [];
      for (const m of delivered) {
        if (m.display_recipient !== inc.stream || m.subject !== inc.topic) problems.push(`[reminder-topic] event ${ev.eventId}: reminder ${m.id} posted in ${m.display_recipient} > ${m.subject}, not its topic`);
      }
      const times = delivered.map(at).sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) if ((times[i] as number) - (times[i - 1] as number) < every - GAP_TOLERANCE_MS) bunched++;
      if (delivered.length < fires.length && outboxLeft === 0) {
        problems.push(`[reminder-lost] event ${ev.eventId}: ${fires.length} reminder rounds fired but ${delivered.length} posted (a reminder was lost)`);
      }

      // Was a reminder due? Open in the bot (from handling its PROBLEM to handling its ack/OK)
      // past openedAt + remindEvery, for DUE_GRACE_MS in one stretch of one running process.
      const pOpen = handledAt.get(firstMsg.id);
      if (pOpen === undefined) continue;
      let pEnd = obsEnd;
      const ackAt = hist.find((h) => h.kind === 'acknowledged')?.at;
      if (ackAt !== undefined) pEnd = Math.min(pEnd, ackAt);
      if (okPosted) {
        const okMsg = postedAt.get(ev.resolvingPost as number) as { id: number };
        const t = handledAt.get(okMsg.id);
        if (t === undefined) continue;
        pEnd = Math.min(pEnd, t);
      }
      let from = Math.max(inc.openedAt + every, pOpen);
      const lastRound = Math.max(Number.NEGATIVE_INFINITY, ...(topicRounds.get(`${inc.stream}\u0000${inc.topic}\u0000${ev.cls}`) ?? []).filter((t) => t <= from));
      if (lastRound + every > from) from = lastRound + every;
      const longest = Math.max(0, ...alive.map((a) => overlap(from, pEnd, a.from, a.to)));
      if (longest >= DUE_GRACE_MS) {
        due++;
        if (delivered.length > 0) covered++;
        else problems.push(`[reminder-missing] event ${ev.eventId} (${ev.cls}): unacknowledged in a running bot for ${longest} ms past its reminder time, but no reminder was posted`);
      }
    }

    // What the bot said when asked at the end agrees with the model.
    if (ongoingReply && sentinel) {
      const stillOpen = plan.events.filter((e) => postedAt.has(e.firstPost) && !(e.resolvingPost !== undefined && postedAt.has(e.resolvingPost)));
      const unacked = stillOpen.filter((e) => !plan.posts.some((p) => p.kind === 'ack' && p.acks.includes(e.eventId) && postedAt.has(p.n)));
      const m = /\*\*Ongoing incidents: (\d+)\*\* \([^;]*; (\d+) unacknowledged\)/.exec(ongoingReply.content);
      const got = m ? `${m[1]} open, ${m[2]} unacknowledged` : /No open incidents/.test(ongoingReply.content) ? '0 open, 0 unacknowledged' : `?? ${ongoingReply.content.slice(0, 100)}`;
      const want = `${stillOpen.length} open, ${unacked.length} unacknowledged`;
      // Events whose !ack came out of order with their alert may be either.
      const unackedSaid = m ? Number(m[2]) : undefined;
      const withinOrder = m !== null && Number(m[1]) === stillOpen.length && unackedSaid !== undefined && Math.abs(unackedSaid - unacked.length) <= orderAmbiguous.size;
      if (got !== want && !withinOrder) problems.push(`[ongoing] !ongoing at the end says ${got}; expected ${want}${orderAmbiguous.size > 0 ? ` (±${orderAmbiguous.size} unacknowledged: !acks out of order)` : ''}`);
    }
  } finally {
    store.close();
  }

  const faultCount = (f: string) => fake.requests.filter((q) => q.fault === f).length;
  const report: ChaosReport = {
    seed,
    problems,
    alerts: plan.events.filter((e) => postedAt.has(e.firstPost)).length,
    posts: postedAt.size,
    tracked,
    repeats: plan.posts.filter((p) => p.kind === 'problem' && p.repeat && postedAt.has(p.n)).length,
    oks: plan.posts.filter((p) => p.kind === 'ok' && postedAt.has(p.n)).length,
    ackCommands: plan.posts.filter((p) => p.kind === 'ack' && postedAt.has(p.n)).length,
    acked,
    faults: {
      expire: counts.expire, '5xx': faultCount('fail'), hang: counts.hang, '429': faultCount('rateLimit'), drop: faultCount('drop'), store: counts.store,
      '5xx-json': counts.json5xx, slow: fake.delaysTaken, reorder: fake.outOfOrderDelivered, 'unknown-event-id': faultCount('unknownEventId'),
    },
    storeOutages,
    storeErrorLines,
    kills: procs.filter((p) => p.exit?.signal === 'SIGKILL' && p.exit.expected).length,
    processes: procs.length,
    cronMissed,
    reminders: { due, posted: covered, fired, messages: reminderMessages, duplicates, bunched },
    seconds: (Date.now() - t0) / 1000,
    dir: w.dir,
  };
  if (problems.length > 0 || opts.keepDir) {
    for (const { rec } of logs) writeFileSync(join(w.dir, `bot-${rec.n}.log`), rec.lines.join('\n') + '\n');
    writeFileSync(join(w.dir, 'requests.json'), JSON.stringify(fake.requests.map((q) => ({ ...q, params: { ...q.params, content: q.params.content?.slice(0, 200) } })), null, 0));
    writeFileSync(join(w.dir, 'messages.json'), JSON.stringify(fake.messages().map((m) => ({ id: m.id, stream: m.display_recipient, topic: m.subject, sender: m.sender_email, at: m.timestamp, sendKey: m.sendKey, content: m.content.slice(0, 160) })), null, 0));
  } else {
    rmSync(w.dir, { recursive: true, force: true });
  }
  return report;
}
