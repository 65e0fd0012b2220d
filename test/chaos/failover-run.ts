/**
 * One seeded failover run (issue 22): two or three instances of the built bot on one PostgreSQL
 * (a schema of the run's own in TEST_DATABASE_URL's database), against the fake Zulip server. A
 * stream of Zabbix alerts (PROBLEM, some OK) and `!ack` commands is posted while, at random
 * moments (seeded), the leader is
 * - `mode: 'kill'`: SIGKILLed; it is started again a little later, as a standby;
 * - `mode: 'cut'`: cut from the database while it runs on: a superuser session terminates its
 *   backends (`pg_terminate_backend`; each instance has an application_name of its own) every
 *   50 ms for a seeded 0.2–3 s, so a standby takes over while the deposed leader still polls Zulip,
 *   reconnects and tries to write. Half the cuts (seeded) take all its connections at once; the
 *   others take its lease session first and the rest 0.3–1.5 s later, as a network fault does when
 *   each connection notices on its own: the deposed leader then writes on a live connection before
 *   its renewal tells it the lease is gone — the write the fencing token must refuse. It must stop
 *   by itself (exit 1: its renewal fails, or a write of its is refused); a supervisor (here: the
 *   run) starts it again as a standby.
 * At the end a sentinel `!ongoing` shows the last leader caught up.
 *
 * Checks (from PostgreSQL and what the fake received):
 * - every PROBLEM tracked exactly once (one incident, one `opened` line), every OK applied;
 * - every `!ack` answered exactly once (each carries its own note, echoed in the answer);
 * - no outgoing item posted twice (two messages with one send key), no bot message twice;
 * - never two leaders writing, from the database itself: row triggers installed in the run's schema
 *   before the bots start record every row write with the writer's application_name and the lease
 *   token current in its transaction, and every token change of `ha_lease` with who took it; every
 *   write must come from the holder of the token it ran under (a deposed leader's write that
 *   landed would show under its successor's token);
 * - at every moment at most one instance led (the lease lines in the logs: a term ends at its
 *   kill or cut), and no process exited but the ones killed, the ones cut (exit 1, by themselves,
 *   within `failover` of the cut) and the last ones (0 on SIGTERM);
 * - the takeover time of each kill or cut: from the SIGKILL / first terminate to the next leader's
 *   `took the lease` log line, and to its `polling live`;
 * - cut runs report the deposed leaders' refused writes (a `may no longer write` line: the fencing
 *   token refused a write after the takeover) and how each cut leader ended.
 */
import { rmSync } from 'node:fs';
import { rng } from '../support/prng';
import { alertPost } from '../support/factories';
import { BotProcess, setUpWorld, STREAMS, type World } from '../support/bot-process';
import { FakeZulip, type FakeMessage } from '../support/fake-zulip';
import { freshSchemaUrl, TEST_DATABASE_URL } from '../support/pg';
import { openPgSession, openPostgresStore, type PgSession } from '../../src/store/postgres-store';

export interface FailoverOptions {
  /** Instances running at once (2 or 3). */
  instances: number;
  /** PROBLEM events posted. */
  alerts: number;
  /** Leader kills (or cuts). */
  kills: number;
  /** How the leader is taken away: SIGKILL (default), or cut from the database while it runs on. */
  mode?: 'kill' | 'cut';
  /** ha.failover of the bots. */
  failover?: string;
  progress?: (line: string) => void;
}

export interface FailoverReport {
  seed: number;
  mode: 'kill' | 'cut';
  problems: string[];
  /** Per kill (cut): ms from SIGKILL (the first terminate) to the next leader's lease, and to its polling live. */
  takeovers: { leaseMs: number; liveMs: number }[];
  /** Cut runs: per cut leader, how it ended (`refused write` / `renewal failed` …, ms after the cut) and the backends terminated. */
  cuts: { instance: number; ended: string; afterMs?: number; terminated: number; cutForMs: number; leaseFirstMs: number }[];
  /** Lines `… may no longer write` logged by deposed leaders: writes the fencing token refused. */
  refusedWrites: number;
  /** Row writes the audit triggers recorded (all from the holder of their token, or a problem). */
  auditedWrites: number;
  alerts: number;
  acks: number;
  botMessages: number;
  seconds: number;
}

interface Planned {
  kind: 'problem' | 'ok' | 'ack';
  eventId: string;
  host: string;
  stream: string;
  note?: string;
}

interface Step {
  kind: 'post' | 'pause' | 'kill';
  post?: Planned;
  ms?: number;
}

const HOSTS = Array.from({ length: 12 }, (_, i) => `fo-${String(i + 1).padStart(2, '0')}.example.org`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Takeover measurements still running when the schedule ends. */
const pendingMeasures: Promise<void>[] = [];

export function planFailover(seed: number, opts: FailoverOptions): Step[] {
  const r = rng(seed * 7919 + 17);
  const steps: Step[] = [];
  const open: Planned[] = [];
  let ackN = 0;
  const killAt = new Set<number>();
  while (killAt.size < opts.kills) killAt.add(r.int(Math.floor(opts.alerts * 0.1), Math.floor(opts.alerts * 0.9)));
  for (let i = 0; i < opts.alerts; i++) {
    const host = r.pick(HOSTS);
    const critical = r.chance(0.5);
    const ev: Planned = { kind: 'problem', eventId: String(90_000 + seed * 1000 + i), host, stream: critical ? STREAMS.critical : STREAMS.nonCritical };
    steps.push({ kind: 'post', post: ev });
    open.push(ev);
    if (open.length > 3 && r.chance(0.35)) {
      const target = open.splice(r.int(0, open.length - 1), 1)[0] as Planned;
      if (r.chance(0.5)) steps.push({ kind: 'post', post: { ...target, kind: 'ok' } });
      else steps.push({ kind: 'post', post: { ...target, kind: 'ack', note: `fo${seed}n${++ackN}z` } });
    }
    steps.push({ kind: 'pause', ms: r.int(20, 250) });
    if (killAt.has(i)) steps.push({ kind: 'kill', ms: r.int(0, 1_500) });
  }
  return steps;
}

interface Instance {
  n: number;
  /** Its application_name in PostgreSQL (its DATABASE_URL): how the cut finds its backends and the audit names it. */
  app: string;
  proc: BotProcess;
  startedAt: number;
  killedAt?: number;
  /** When its database was cut (mode 'cut'). */
  cutAt?: number;
  /** When the run stopped it at the end (SIGTERM). */
  stoppedAt?: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  expectedExit: boolean;
}

type LogLine = { msg?: string; time?: number; level?: number; token?: number; messageId?: number; err?: unknown };
const parse = (l: string): LogLine | undefined => {
  try {
    return JSON.parse(l) as LogLine;
  } catch {
    return undefined;
  }
};

export async function failoverRun(seed: number, opts: FailoverOptions): Promise<FailoverReport> {
  const t0 = Date.now();
  const progress = (line: string) => opts.progress?.(`+${((Date.now() - t0) / 1000).toFixed(1)}s seed ${seed}: ${line}`);
  const problems: string[] = [];
  const takeovers: { leaseMs: number; liveMs: number }[] = [];
  const mode = opts.mode ?? 'kill';
  const failover = opts.failover ?? '10s';
  const failoverMs = Number(/^(\d+)s$/.exec(failover)?.[1] ?? 10) * 1000;
  const cuts: FailoverReport['cuts'] = [];
  // The cut lengths from a generator of their own: the kill runs' schedules stay what they were.
  const cutRng = rng(seed * 104_729 + 3);
  const steps = planFailover(seed, opts);
  const { url, schema } = freshSchemaUrl(`fo${seed}`);
  installAudit(url, schema);
  // The cut: a superuser session on the test database (TEST_DATABASE_URL is the cluster's superuser).
  const cutter: PgSession | undefined = mode === 'cut' ? openPgSession(TEST_DATABASE_URL as string, 'failover cutter') : undefined;
  const fake = await FakeZulip.start({ heartbeatMs: 500, longpollTimeoutSeconds: 2, rateLimitPerMinute: 1_000_000 });
  const w: World = setUpWorld(fake, { store: { url }, ha: { failover }, rateLimit: { perMinute: 10_000 }, log: { level: 'info' } });
  const instances: Instance[] = [];
  /** Set when the run stops its bots: no more restarts. */
  let endingAt: number | undefined;
  const start = (): Instance => {
    const n = instances.length + 1;
    // Its own application_name (DATABASE_URL overrides store.url): unique to this run, ≤ 63 characters.
    const app = `${schema}_b${n}`;
    const inst: Instance = { n, app, proc: BotProcess.start(w.configPath, { DATABASE_URL: `${url}&application_name=${app}` }), startedAt: Date.now(), expectedExit: false };
    inst.proc.child.on('exit', (code, signal) => {
      inst.exit = { code, signal, at: Date.now() };
      // A leader that stopped by itself after its cut is restarted by its supervisor, as a standby.
      if (inst.cutAt !== undefined && endingAt === undefined) setTimeout(() => endingAt === undefined && start(), 500);
    });
    instances.push(inst);
    return inst;
  };
  const lines = (i: Instance) => i.proc.output.map(parse).filter((l): l is LogLine => l !== undefined);
  const leaderOf = () => instances.find((i) => !i.exit && i.killedAt === undefined && i.cutAt === undefined && lines(i).some((l) => /^took the lease/.test(l.msg ?? '')));
  const waitFor = async (cond: () => boolean, ms: number, what: string) => {
    const until = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(10);
    }
  };
  const posted: { p: Planned; m: FakeMessage }[] = [];
  try {
    for (let i = 0; i < opts.instances; i++) start();
    await waitFor(() => leaderOf() !== undefined, 20_000, 'a leader');
    const first = leaderOf() as Instance;
    // Its own 'polling live' line (not proc.live(), which waits for a line after the call: the
    // lease's line and this one can come in one write).
    await waitFor(() => lines(first).some((l) => l.msg === 'polling live'), 20_000, 'the leader polling live');
    progress(`bot #${first.n} leads; ${instances.length} instances`);
    for (const step of steps) {
      if (step.kind === 'pause') await sleep(step.ms ?? 0);
      else if (step.kind === 'post') {
        const p = step.post as Planned;
        const topic = p.host;
        const content =
          p.kind === 'ack'
            ? `!ack ${p.eventId} ${p.note}`
            : alertPost({ status: p.kind === 'ok' ? 'OK' : 'PROBLEM', severity: p.stream === STREAMS.critical ? 'High' : 'Warning', host: p.host, eventId: p.eventId, triggerId: String(Number(p.eventId) % 997), trigger: `Check ${p.eventId} failed on ${p.host}` });
        const m = p.kind === 'ack' ? fake.post(w.ann.email, p.stream, topic, content) : fake.post(w.zabbix.email, p.stream, topic, content, { client: 'ZulipZabbixWebhook' });
        posted.push({ p, m });
      } else {
        // A random moment after the current leader is live (it may be catching up still: ms 0).
        await sleep(step.ms ?? 0);
        const leader = leaderOf();
        if (!leader) continue;
        leader.expectedExit = true;
        let killedAt: number;
        if (mode === 'cut') {
          killedAt = leader.cutAt = Date.now();
          const leaseFirstMs = cutRng.chance(0.5) ? cutRng.int(300, 1_500) : 0;
          const cut = { instance: leader.n, ended: 'still running', terminated: 0, cutForMs: cutRng.int(200, 3_000), leaseFirstMs };
          cuts.push(cut);
          progress(`cutting the leader #${leader.n} from the database for ${cut.cutForMs} ms${leaseFirstMs ? ` (its lease session ${leaseFirstMs} ms before the rest)` : ''}`);
          // In the background, as the measure: posting goes on meanwhile, and the deposed leader runs on.
          pendingMeasures.push(cutFromDatabase(cutter as PgSession, leader.app, cut, (k) => (cut.terminated += k)));
        } else {
          killedAt = leader.killedAt = Date.now();
          await leader.proc.kill('SIGKILL');
          progress(`killed the leader #${leader.n}`);
          // The killed instance comes back (a supervisor restarts it) as a standby, a little later.
          setTimeout(() => start(), 1_500);
        }
        // Measured in the background: posting goes on meanwhile.
        const measure = (async () => {
          await waitFor(() => leaderOf() !== undefined, 60_000, 'a new leader');
          const next = leaderOf() as Instance;
          const leaseLine = lines(next).find((l) => /^took the lease/.test(l.msg ?? ''));
          const leaseAt = leaseLine?.time ?? Date.now();
          await waitFor(() => lines(next).some((l) => l.msg === 'polling live'), 60_000, 'the new leader polling live');
          const liveAt = lines(next).find((l) => l.msg === 'polling live')?.time ?? Date.now();
          takeovers.push({ leaseMs: leaseAt - killedAt, liveMs: liveAt - killedAt });
          progress(`bot #${next.n} took over: lease +${leaseAt - killedAt} ms, live +${liveAt - killedAt} ms`);
        })();
        await Promise.race([measure, sleep(0)]);
        pendingMeasures.push(measure);
      }
    }
    await Promise.all(pendingMeasures.splice(0));
    const leader = leaderOf() as Instance;
    await waitFor(() => lines(leader).some((l) => l.msg === 'polling live'), 60_000, 'the last leader live');
    const sentinel = fake.post(w.ann.email, STREAMS.general, 'failover end', '!ongoing');
    await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.subject === 'failover end', { afterId: sentinel.id, timeoutMs: 60_000 });
    // Everything queued goes out before the checks.
    const admin = openPgSession(url, 'failover checks');
    try {
      await waitFor(() => Number(admin.query('SELECT COUNT(*) AS n FROM outbox')[0]?.n) === 0, 60_000, 'the outbox to empty');
    } finally {
      admin.close();
    }
    await sleep(300);
    endingAt = Date.now();
    for (const i of instances) i.expectedExit = true;
    // The standbys first, then the leader: a standby would take the lease the leader's stop gives up.
    for (const i of instances.filter((x) => !x.exit && x !== leader)) {
      i.stoppedAt = Date.now();
      const c = await i.proc.kill('SIGTERM');
      if (c !== 0) problems.push(`[shutdown] the standby #${i.n} exited ${String(c)} on SIGTERM`);
    }
    leader.stoppedAt = Date.now();
    const code = await leader.proc.kill('SIGTERM');
    if (code !== 0) problems.push(`[shutdown] the last leader #${leader.n} exited ${String(code)} on SIGTERM`);
  } catch (err) {
    problems.push(`[aborted] ${(err as Error).message}`);
  } finally {
    endingAt ??= Date.now();
    cutter?.close();
    for (const i of instances) {
      if (!i.exit) {
        i.expectedExit = true;
        await i.proc.kill('SIGKILL');
      }
    }
    await fake.stop();
  }

  // ----- checks --------------------------------------------------------------------------------
  for (const i of instances) {
    if (i.exit && !i.expectedExit) problems.push(`[crash] bot #${i.n} exited by itself (code ${String(i.exit.code)}, signal ${String(i.exit.signal)}): ${i.proc.output.slice(-5).join(' | ')}`);
    for (const l of lines(i)) {
      if ((l.level ?? 0) < 50) continue;
      // A cut leader says why it stops (its renewal failed, or a write of its was refused), and that its store cannot write.
      if (i.cutAt !== undefined && (l.time ?? 0) >= i.cutAt && ((l.level ?? 0) >= 60 ? /^lost the lease|may no longer write/ : /^store: cannot write/).test(l.msg ?? '')) continue;
      problems.push(`[error-log] bot #${i.n}${i.cutAt !== undefined && (l.time ?? 0) >= i.cutAt ? ' (cut)' : ''}: ${l.msg ?? ''}${l.err ? ` (${JSON.stringify(l.err).slice(0, 200)})` : ''}`);
    }
  }
  // A cut leader stops by itself (exit 1), within ha.failover of the cut, and says why.
  let refusedWrites = 0;
  for (const c of cuts) {
    const i = instances[c.instance - 1] as Instance;
    const cutAt = i.cutAt as number;
    refusedWrites += i.proc.output.filter((l) => l.includes('may no longer write')).length;
    const fatal = lines(i).find((l) => (l.level ?? 0) >= 60 && (l.time ?? 0) >= cutAt);
    c.ended = !fatal ? 'no fatal line' : /may no longer write/.test(fatal.msg ?? '') ? 'refused write' : /^lost the lease/.test(fatal.msg ?? '') ? `renewal failed (${(fatal.msg ?? '').replace(/^lost the lease: /, '').split(';')[0]})` : (fatal.msg ?? '');
    if (!i.exit || i.exit.at >= (endingAt as number) || i.exit.code !== 1) {
      problems.push(`[not-deposed] bot #${i.n}, cut at +${((cutAt - t0) / 1000).toFixed(1)} s, did not stop by itself with exit 1 (${i.exit ? `exit ${String(i.exit.code ?? i.exit.signal)} ${i.exit.at - cutAt} ms after the cut` : 'still running'}): ${i.proc.output.slice(-3).join(' | ')}`);
      continue;
    }
    c.afterMs = i.exit.at - cutAt;
    if (c.afterMs > failoverMs) problems.push(`[slow-stop] bot #${i.n} stopped ${c.afterMs} ms after its cut (ha.failover ${failoverMs} ms)`);
  }
  // At most one leader at a time: lease intervals [took the lease, killed/cut/stopped] do not overlap.
  const terms = instances
    .map((i) => ({ n: i.n, from: lines(i).find((l) => /^took the lease/.test(l.msg ?? ''))?.time, to: i.killedAt ?? i.cutAt ?? i.stoppedAt ?? Date.now() }))
    .filter((t): t is { n: number; from: number; to: number } => t.from !== undefined)
    .sort((a, b) => a.from - b.from);
  for (let k = 1; k < terms.length; k++) {
    const [a, b] = [terms[k - 1], terms[k]] as [{ n: number; from: number; to: number }, { n: number; from: number; to: number }];
    if (b.from < a.to) problems.push(`[two-leaders] bot #${b.n} took the lease at ${b.from} while #${a.n} led until ${a.to}`);
  }
  const db = openPgSession(url, 'failover checks');
  let botMessages: FakeMessage[] = [];
  let auditedWrites = 0;
  try {
    // Never two leaders writing: every row write came from the holder of the token it ran under.
    const who = (app: string | undefined) => (app === undefined ? 'nobody' : `bot #${instances.find((i) => i.app === app)?.n ?? app}`);
    const holders = new Map<number, string>();
    for (const r of db.query("SELECT token, app FROM fo_audit WHERE tbl = 'ha_lease' ORDER BY id")) holders.set(Number(r.token), String(r.app));
    for (const r of db.query("SELECT app, token, tbl, op, COUNT(*) AS n, MIN(at) AS first FROM fo_audit WHERE tbl <> 'ha_lease' GROUP BY app, token, tbl, op ORDER BY MIN(at)")) {
      auditedWrites += Number(r.n);
      const holder = holders.get(Number(r.token));
      if (holder !== String(r.app)) problems.push(`[two-writers] ${Number(r.n)} ${String(r.op)} on ${String(r.tbl)} by ${who(String(r.app))} under token ${Number(r.token)}, which ${who(holder)} held (first at +${((Number(r.first) - t0) / 1000).toFixed(1)} s)`);
    }
    if (holders.size === 0) problems.push('[audit] no lease token change recorded: the audit triggers did not run');
    const opened = new Map<string, number>();
    for (const r of db.query("SELECT event_id, COUNT(*) AS n FROM incident_log WHERE kind = 'opened' GROUP BY event_id")) opened.set(String(r.event_id), Number(r.n));
    const status = new Map<string, string>();
    for (const r of db.query('SELECT event_id, status FROM incidents')) status.set(String(r.event_id), String(r.status));
    for (const { p } of posted) {
      if (p.kind === 'problem' && opened.get(p.eventId) !== 1) problems.push(`[alert-count] event ${p.eventId}: opened ${opened.get(p.eventId) ?? 0}× (expected once)`);
      if (p.kind === 'ok' && status.get(p.eventId) !== 'resolved') problems.push(`[ok-lost] event ${p.eventId}: OK posted but the incident is ${status.get(p.eventId) ?? 'missing'}`);
      if (p.kind === 'ack' && status.get(p.eventId) !== 'acknowledged') problems.push(`[ack-lost] event ${p.eventId}: !ack typed but the incident is ${status.get(p.eventId) ?? 'missing'}`);
    }
    botMessages = fake.messagesBy(w.bot.email);
    const keys = new Map<string, FakeMessage>();
    for (const m of botMessages) {
      if (m.sendKey === undefined) continue;
      const earlier = keys.get(m.sendKey);
      if (earlier) problems.push(`[posted-twice] send key ${m.sendKey} posted twice (messages ${earlier.id} and ${m.id}) in ${m.display_recipient} > ${m.subject}: ${m.content.slice(0, 80)}`);
      else keys.set(m.sendKey, m);
    }
    const texts = new Map<string, FakeMessage>();
    for (const m of botMessages) {
      const k = `${m.display_recipient}\u0000${m.subject}\u0000${m.content}`;
      const earlier = texts.get(k);
      if (earlier && !m.content.includes('⏰')) problems.push(`[said-twice] bot message posted twice (${earlier.id}, ${m.id}) in ${m.display_recipient} > ${m.subject}: ${m.content.slice(0, 80)}`);
      texts.set(k, m);
    }
    for (const { p } of posted) {
      if (p.kind !== 'ack') continue;
      const answers = botMessages.filter((m) => m.subject === p.host && m.content.startsWith('✅ Acknowledged by') && m.content.includes(p.note as string));
      if (answers.length !== 1) problems.push(`[ack-answers] !ack ${p.eventId} (${p.note}) answered ${answers.length}× (expected once): ${answers.map((m) => `${m.id}: ${m.content.slice(0, 120)}`).join(' / ')}`);
    }
  } finally {
    db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    db.close();
  }
  // The run's dir (the bots' config) is kept only when something failed.
  if (problems.length === 0) rmSync(w.dir, { recursive: true, force: true });
  else problems.push(`(run directory kept: ${w.dir})`);
  return {
    seed,
    mode,
    problems,
    takeovers,
    cuts,
    refusedWrites,
    auditedWrites,
    alerts: posted.filter((x) => x.p.kind === 'problem').length,
    acks: posted.filter((x) => x.p.kind === 'ack').length,
    botMessages: botMessages.length,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Migrates the run's schema, then installs the audit: row triggers on every table of the bot's
 * (not ha_lease) record each write with the writer's application_name and the lease token current
 * in its transaction (a leader's writing transaction holds that row FOR SHARE: the token cannot
 * change under it), and one on ha_lease records each token change with who made it.
 */
function installAudit(url: string, schema: string): void {
  openPostgresStore(url, { applicationName: 'failover audit' }).close();
  const s = openPgSession(url, 'failover audit');
  try {
    const tables = s
      .query('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema])
      .map((r) => String(r.tablename))
      .filter((t) => t !== 'ha_lease' && t !== 'schema_version');
    const now = '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint';
    s.query(`CREATE TABLE ${schema}.fo_audit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, app TEXT NOT NULL, tbl TEXT NOT NULL, op TEXT NOT NULL, token BIGINT, old_token BIGINT)`);
    s.query(`CREATE FUNCTION ${schema}.fo_audit_write() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN
        INSERT INTO ${schema}.fo_audit (at, app, tbl, op, token)
          VALUES (${now}, current_setting('application_name'), TG_TABLE_NAME, TG_OP, (SELECT token FROM ${schema}.ha_lease WHERE name = 'leader'));
        RETURN NULL;
      END $f$`);
    s.query(`CREATE FUNCTION ${schema}.fo_audit_lease() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN
        IF NEW.token IS DISTINCT FROM OLD.token THEN
          INSERT INTO ${schema}.fo_audit (at, app, tbl, op, token, old_token) VALUES (${now}, current_setting('application_name'), 'ha_lease', TG_OP, NEW.token, OLD.token);
        END IF;
        RETURN NULL;
      END $f$`);
    for (const t of tables) s.query(`CREATE TRIGGER fo_audit AFTER INSERT OR UPDATE OR DELETE ON ${schema}.${t} FOR EACH ROW EXECUTE FUNCTION ${schema}.fo_audit_write()`);
    s.query(`CREATE TRIGGER fo_audit AFTER UPDATE ON ${schema}.ha_lease FOR EACH ROW EXECUTE FUNCTION ${schema}.fo_audit_lease()`);
  } finally {
    s.close();
  }
}

/**
 * Cuts `app`'s connections: its lease session (the backend holding the advisory lock) first and,
 * `leaseFirstMs` later, every backend of its every 50 ms for `cutForMs` (it reconnects; each new
 * connection goes too).
 */
async function cutFromDatabase(admin: PgSession, app: string, cut: { cutForMs: number; leaseFirstMs: number }, terminated: (n: number) => void): Promise<void> {
  if (cut.leaseFirstMs > 0) {
    const rows = admin.query(
      `SELECT pg_terminate_backend(a.pid) AS ok FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
       WHERE a.application_name = $1 AND l.locktype = 'advisory' AND l.granted AND l.classid = ${0x5352}`,
      [app],
    );
    terminated(rows.filter((r) => r.ok === true).length);
    await sleep(cut.leaseFirstMs);
  }
  const until = Date.now() + cut.cutForMs;
  for (;;) {
    const rows = admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [app]);
    terminated(rows.filter((r) => r.ok === true).length);
    if (Date.now() >= until) return;
    await sleep(50);
  }
}
