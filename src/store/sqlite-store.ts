/** The store on SQLite (better-sqlite3): the only importer of better-sqlite3. */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Incident, IncidentLogEntry, IncidentSummary, TopicRef } from '../domain/incident';
import { hostTopic } from '../domain/topics';
import { StoreCorruptError, StoreUnavailableError, translateSqliteError } from './errors';
import { FAULT_ERRORS, type StoreFault } from './fault';
import { INCIDENT_COLUMNS, toHandler, toIncident, toIncidentRow, toLogEntry, type IncidentRow } from './rows';
import { LANE_PRIORITY, laneOfPriority, type CardRecord, type GitlabIssueRecord, type Handler, type Handover, type JobRow, type OutboxRow, type OutgoingItem, type ProjectIdRecord, type ScopedHandler, type Store, type Lane } from './store';

/** Schema migrations, applied in order; PRAGMA user_version records how many ran. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE incidents (
     event_id TEXT PRIMARY KEY,
     trigger_id TEXT NOT NULL,
     host TEXT NOT NULL,
     trigger_name TEXT NOT NULL,
     item_text TEXT NOT NULL,
     severity TEXT NOT NULL,
     incident_class TEXT NOT NULL,
     link TEXT NOT NULL,
     stream TEXT NOT NULL,
     topic TEXT NOT NULL,
     status TEXT NOT NULL,
     opened_at INTEGER NOT NULL,
     opened_message_id INTEGER NOT NULL,
     last_alert_at INTEGER NOT NULL,
     last_alert_message_id INTEGER NOT NULL,
     alert_count INTEGER NOT NULL,
     acknowledged_at INTEGER,
     acknowledged_by TEXT,
     ack_note TEXT,
     resolved_at INTEGER,
     resolved_by TEXT,
     resolution TEXT
   );
   CREATE INDEX incidents_topic ON incidents(stream, topic);
   CREATE INDEX incidents_status ON incidents(status);
   CREATE TABLE incident_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     event_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     actor TEXT,
     detail TEXT
   );
   CREATE INDEX incident_log_event ON incident_log(event_id);
   CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     item TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     not_before INTEGER NOT NULL
   );`,
  // SLA timers as data (src/domain/timers.ts); next_due_at is what the scheduler looks up.
  `ALTER TABLE incidents ADD COLUMN next_reminder_at INTEGER;
   ALTER TABLE incidents ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE incidents ADD COLUMN last_reminder_at INTEGER;
   ALTER TABLE incidents ADD COLUMN warnings_sent TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE incidents ADD COLUMN snoozed_until INTEGER;
   ALTER TABLE incidents ADD COLUMN next_due_at INTEGER;
   CREATE INDEX incidents_next_due ON incidents(next_due_at) WHERE next_due_at IS NOT NULL;`,
  // Non-critical workflow: Lynx project IDs reported in host topics, checklists posted.
  `CREATE TABLE project_ids (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     stream TEXT NOT NULL,
     topic_key TEXT NOT NULL,
     trigger_id TEXT,
     project_id TEXT NOT NULL,
     posted_by TEXT NOT NULL,
     at INTEGER NOT NULL,
     message_id INTEGER,
     UNIQUE (stream, topic_key, trigger_id, project_id)
   );
   CREATE INDEX project_ids_topic ON project_ids(stream, topic_key);
   CREATE TABLE checklists (
     stream TEXT NOT NULL,
     topic_key TEXT NOT NULL,
     trigger_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (stream, topic_key, trigger_id)
   );`,
  // First responder: handovers (the latest is the acting FR), who handles which topic.
  `CREATE TABLE handovers (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     from_id INTEGER,
     from_name TEXT,
     to_id INTEGER NOT NULL,
     to_name TEXT NOT NULL,
     by_name TEXT NOT NULL,
     at INTEGER NOT NULL,
     forced INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE handlers (
     stream TEXT NOT NULL,
     topic_key TEXT NOT NULL,
     person_id INTEGER NOT NULL,
     person_name TEXT NOT NULL,
     since INTEGER NOT NULL,
     until INTEGER NOT NULL,
     PRIMARY KEY (stream, topic_key)
   );`,
  // Runbook advice posted per host topic: hints per trigger, the client prompt once (src/runbook/).
  `CREATE TABLE advice_posts (
     stream TEXT NOT NULL,
     topic_key TEXT NOT NULL,
     trigger_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (stream, topic_key, trigger_id, kind)
   );`,
  // The several-hosts watch reads recent opens of critical incidents every second in a storm.
  `CREATE INDEX incident_log_kind_at ON incident_log(kind, at);`,
  // After-commit jobs (src/pipeline/jobs.ts): outside work queued with the change that needs it.
  `CREATE TABLE jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,
     payload TEXT NOT NULL,
     run_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     reported INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX jobs_run_at ON jobs(run_at);`,
  // GitLab tracking (src/features/gitlab/): issue per incident, notes synced either way.
  `CREATE TABLE gitlab_issues (
     iid INTEGER PRIMARY KEY,
     web_url TEXT NOT NULL,
     title TEXT NOT NULL,
     state TEXT NOT NULL,
     state_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX gitlab_issues_state ON gitlab_issues(state);
   CREATE TABLE gitlab_links (
     event_id TEXT PRIMARY KEY,
     iid INTEGER NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX gitlab_links_iid ON gitlab_links(iid);
   CREATE TABLE gitlab_notes (
     iid INTEGER NOT NULL,
     note_id INTEGER NOT NULL,
     origin TEXT NOT NULL,
     message_id INTEGER,
     at INTEGER NOT NULL,
     PRIMARY KEY (iid, note_id)
   );
   CREATE INDEX gitlab_notes_message ON gitlab_notes(message_id) WHERE message_id IS NOT NULL;
   CREATE TABLE gitlab_pending_notes (
     message_id INTEGER PRIMARY KEY,
     event_id TEXT NOT NULL,
     payload TEXT NOT NULL,
     at INTEGER NOT NULL
   );`,
  // Ownership (issue 19): who acknowledged, by Zulip user id; handlers of areas and host patterns.
  `ALTER TABLE incidents ADD COLUMN acknowledged_by_id INTEGER;
   CREATE TABLE scoped_handlers (
     scope TEXT NOT NULL,
     key TEXT NOT NULL,
     person_id INTEGER NOT NULL,
     person_name TEXT NOT NULL,
     since INTEGER NOT NULL,
     until INTEGER NOT NULL,
     stream TEXT,
     topic TEXT,
     PRIMARY KEY (scope, key)
   );`,
  // Priority lanes in the outbox: replies to people (0), reminders and warnings (1), bulk notices (2).
  `ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX outbox_priority ON outbox(priority, id);`,
  // Cards: messages the bot keeps up to date by editing them in place (status cards, storm summaries).
  `CREATE TABLE cards (
     key TEXT PRIMARY KEY,
     message_id INTEGER NOT NULL,
     stream TEXT NOT NULL,
     topic TEXT NOT NULL,
     content TEXT NOT NULL,
     posted_at INTEGER NOT NULL
   );`,
  // A new problem looks up the host's latest incident elsewhere (the earlier-topic link): without
  // this, a scan of every incident per alert (a storm's, a catch-up's cost grew with the square).
  `CREATE INDEX incidents_host ON incidents(host, opened_at);`,
];

/** A host topic's identity across resolving and unresolving (the ✔ prefix). */
export function topicKey(topic: string): string {
  return hostTopic(topic);
}

export class StoreOpenError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot open the store at ${path}: ${(cause as Error).message ?? String(cause)}`);
    this.name = 'StoreOpenError';
  }
}

export interface StoreOptions {
  /**
   * Called when SQLite finds the file corrupt (SQLITE_CORRUPT, SQLITE_NOTADB) while running, just
   * before the StoreCorruptError is thrown: src/main.ts logs it and exits 1.
   */
  onCorrupt?: (err: StoreCorruptError) => void;
  /** Tests only: makes statements fail for a window (src/store/fault.ts). */
  fault?: StoreFault;
}

/**
 * Opens (creating if absent) and migrates the database. Throws StoreOpenError when unusable.
 * Afterwards every failing statement (commits included) throws a StoreUnavailableError or a
 * StoreCorruptError when SQLite's code means one (src/store/errors.ts).
 */
export function openSqliteStore(path: string, opts: StoreOptions = {}): Store {
  let db: Database.Database;
  let identity: FileIdentity | undefined;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A checkpoint every 10,000 pages (40 MB of WAL) rather than 1,000: a storm's thousands of small
    // commits rewrite the same pages; fewer checkpoints (each with an fsync) keep it fast.
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('busy_timeout = 5000');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`);
    migrate(db);
    identity = db.memory ? undefined : fileIdentity(path);
  } catch (err) {
    throw new StoreOpenError(path, err);
  }
  return new SqliteStore(db, path, identity, opts);
}

interface FileIdentity {
  dev: number;
  ino: number;
}

function fileIdentity(path: string): FileIdentity | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? { dev: st.dev, ino: st.ino } : undefined;
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** The outbox is kept in memory while it holds fewer rows than this (SqliteStore.outboxView). */
const OUTBOX_VIEW_MAX = 256;
/** Incidents kept in memory at most (SqliteStore.incidentCache). */
const INCIDENT_CACHE_MAX = 512;

/** An outbox row as handed out: frozen, since the same row is handed out again from the view. */
function outboxRow(id: number, item: OutgoingItem, createdAt: number, attempts: number, notBefore: number, priority: number): OutboxRow {
  return Object.freeze({ id, item: Object.freeze(item), createdAt, attempts, notBefore, lane: laneOfPriority(priority) });
}

class SqliteStore implements Store {
  private readonly stmts;
  private readonly incidentUpdates = new Map<string, Database.Statement<[IncidentRow]>>();
  /** One transaction function for every call (better-sqlite3 builds its BEGIN/COMMIT wrappers per function). */
  private readonly runTx: (fn: () => unknown) => unknown;
  private failing: { code: string; reason: string } | undefined;
  private failures = 0;
  /** A write statement succeeded in the open transaction (it counts once the transaction commits). */
  private txWrote = false;
  /** Outbox rows sent while the store could not write: removed once it can (see remove). */
  private readonly pendingRemovals = new Set<number>();
  /** Outbox reschedules made while the store could not write: written once it can. */
  private readonly pendingReschedules = new Map<number, { notBefore: number; attempts: number }>();
  /** Jobs done while the store could not write: marked done once it can (see finishJob). */
  private readonly pendingFinished = new Set<number>();
  /**
   * The whole outbox, in the order it is sent (priority, id), while it holds fewer than
   * OUTBOX_VIEW_MAX rows; undefined when not known (read again). Kept by the outbox's own writes
   * after each succeeds; dropped by a transaction that fails (its writes are undone) and by the
   * writes that change rows by their content (a topic's rename, a card's drop). The sender reads
   * the outbox after every commit that queued something: at rest that read and its JSON were a
   * tenth of a millisecond of every reply. One process writes the file (the lease), so nothing
   * else changes it meanwhile.
   */
  private outboxView: OutboxRow[] | undefined;
  /**
   * Incidents as last read or written, by event id: a repeated alert's incident is read without
   * a statement (at rest the read was a twentieth of a millisecond of its reply). Entries are
   * what a read of the file would give (the row written, turned back into an incident), frozen
   * (handed out again); cleared by a transaction that fails, by a topic move (an update by
   * topic), and when it holds INCIDENT_CACHE_MAX.
   */
  private readonly incidentCache = new Map<string, Incident>();

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
    private readonly identity: FileIdentity | undefined,
    private readonly opts: StoreOptions,
  ) {
    this.runTx = db.transaction((fn: () => unknown) => fn());
    const cols = INCIDENT_COLUMNS;
    this.stmts = {
      get: db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE event_id = ?'),
      // An upsert, not INSERT OR REPLACE: a replace deletes and re-inserts the row, rewriting every
      // index; an update in place leaves the indexes whose columns did not change (a repeated
      // alert changes its counters only).
      put: db.prepare(
        `INSERT INTO incidents (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})
         ON CONFLICT(event_id) DO UPDATE SET ${cols.filter((c) => c !== 'event_id').map((c) => `${c} = excluded.${c}`).join(', ')}`,
      ),
      open: db.prepare<[], IncidentRow>("SELECT * FROM incidents WHERE status != 'resolved' ORDER BY opened_at"),
      openSummaries: db
        .prepare<[], unknown[]>(
          "SELECT event_id, host, trigger_name, severity, incident_class, stream, topic, status, opened_at, acknowledged_by, link FROM incidents WHERE status != 'resolved'",
        )
        .raw(true),
      due: db.prepare<[number], IncidentRow>('SELECT * FROM incidents WHERE next_due_at <= ? ORDER BY next_due_at'),
      nextDue: db.prepare<[], { t: number | null }>('SELECT MIN(next_due_at) AS t FROM incidents'),
      latestForHost: db.prepare<[string, string, string], IncidentRow>(
        'SELECT * FROM incidents WHERE host = ? AND NOT (stream = ? AND topic = ?) ORDER BY opened_at DESC LIMIT 1',
      ),
      openedBetween: db.prepare<[number, number], IncidentRow>('SELECT * FROM incidents WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at'),
      ofHost: db.prepare<[string, number], IncidentRow>('SELECT * FROM incidents WHERE host = ? ORDER BY opened_at DESC LIMIT ?'),
      criticalOpens: db.prepare<[number], { event_id: string; at: number; host: string; trigger_name: string; stream: string; topic: string }>(
        `SELECT l.event_id, l.at, i.host, i.trigger_name, i.stream, i.topic FROM incident_log l JOIN incidents i ON i.event_id = l.event_id
         WHERE l.kind = 'opened' AND l.at >= ? AND i.incident_class = 'critical' ORDER BY l.id`,
      ),
      logsOfKind: db.prepare<[string, number], { event_id: string; at: number; kind: string; actor: string | null; detail: string | null }>(
        'SELECT event_id, at, kind, actor, detail FROM incident_log WHERE kind = ? AND at >= ? ORDER BY id',
      ),
      inTopic: db.prepare<[string, string], IncidentRow>('SELECT * FROM incidents WHERE stream = ? AND topic = ? ORDER BY opened_at'),
      openInTopic: db.prepare<[string, string], IncidentRow>(
        "SELECT * FROM incidents WHERE stream = ? AND topic = ? AND status != 'resolved' ORDER BY opened_at",
      ),
      move: db.prepare('UPDATE incidents SET stream = ?, topic = ? WHERE stream = ? AND topic = ?'),
      moveIds: db.prepare('UPDATE OR IGNORE project_ids SET stream = ?, topic_key = ? WHERE stream = ? AND topic_key = ?'),
      moveChecklists: db.prepare('UPDATE OR IGNORE checklists SET stream = ?, topic_key = ? WHERE stream = ? AND topic_key = ?'),
      addProjectId: db.prepare(
        'INSERT OR IGNORE INTO project_ids (stream, topic_key, trigger_id, project_id, posted_by, at, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      projectIds: db.prepare<[string, string], { project_id: string; trigger_id: string | null; posted_by: string; at: number; message_id: number | null }>(
        'SELECT project_id, trigger_id, posted_by, at, message_id FROM project_ids WHERE stream = ? AND topic_key = ? ORDER BY id',
      ),
      addHandover: db.prepare('INSERT INTO handovers (from_id, from_name, to_id, to_name, by_name, at, forced) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      handovers: db.prepare<[number], { from_id: number | null; from_name: string | null; to_id: number; to_name: string; by_name: string; at: number; forced: number }>(
        'SELECT * FROM handovers ORDER BY id DESC LIMIT ?',
      ),
      setHandler: db.prepare('INSERT OR REPLACE INTO handlers (stream, topic_key, person_id, person_name, since, until) VALUES (?, ?, ?, ?, ?, ?)'),
      handler: db.prepare<[string, string], { stream: string; topic_key: string; person_id: number; person_name: string; since: number; until: number }>(
        'SELECT * FROM handlers WHERE stream = ? AND topic_key = ?',
      ),
      handlersUntil: db.prepare<[number], { stream: string; topic_key: string; person_id: number; person_name: string; since: number; until: number }>(
        'SELECT * FROM handlers WHERE until <= ?',
      ),
      handlersOf: db.prepare<[number], { stream: string; topic_key: string; person_id: number; person_name: string; since: number; until: number }>(
        'SELECT * FROM handlers WHERE person_id = ?',
      ),
      removeHandler: db.prepare('DELETE FROM handlers WHERE stream = ? AND topic_key = ?'),
      moveHandlers: db.prepare('UPDATE OR IGNORE handlers SET stream = ?, topic_key = ? WHERE stream = ? AND topic_key = ?'),
      addChecklist: db.prepare('INSERT OR IGNORE INTO checklists (stream, topic_key, trigger_id, at) VALUES (?, ?, ?, ?)'),
      addAdvice: db.prepare('INSERT OR IGNORE INTO advice_posts (stream, topic_key, trigger_id, kind, at) VALUES (?, ?, ?, ?, ?)'),
      clearAdvice: db.prepare('DELETE FROM advice_posts WHERE stream = ? AND topic_key = ?'),
      addLog: db.prepare('INSERT INTO incident_log (event_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)'),
      history: db.prepare<[string], { event_id: string; at: number; kind: string; actor: string | null; detail: string | null }>(
        'SELECT event_id, at, kind, actor, detail FROM incident_log WHERE event_id = ? ORDER BY id',
      ),
      getState: db.prepare<[string], { value: string }>('SELECT value FROM state WHERE key = ?'),
      setState: db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      raiseState: db.prepare(
        'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE CAST(state.value AS INTEGER) < CAST(excluded.value AS INTEGER)',
      ),
      enqueue: db.prepare('INSERT INTO outbox (item, created_at, not_before, priority) VALUES (?, ?, ?, ?)'),
      peek: db.prepare<[], { id: number; item: string; created_at: number; attempts: number; not_before: number; priority: number }>(
        'SELECT * FROM outbox ORDER BY priority, id LIMIT 1',
      ),
      pendingRows: db.prepare<[number], { id: number; item: string; created_at: number; attempts: number; not_before: number; priority: number }>(
        'SELECT * FROM outbox ORDER BY priority, id LIMIT ?',
      ),
      remove: db.prepare('DELETE FROM outbox WHERE id = ?'),
      reschedule: db.prepare('UPDATE outbox SET not_before = ?, attempts = ? WHERE id = ?'),
      size: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM outbox'),
      moveOutbox: db.prepare("UPDATE outbox SET item = json_set(item, '$.stream', ?, '$.topic', ?) WHERE json_extract(item, '$.kind') IN ('message', 'card') AND json_extract(item, '$.stream') = ? AND json_extract(item, '$.topic') = ?"),
      pendingTopics: db.prepare<[], { stream: string; topic: string }>("SELECT DISTINCT json_extract(item, '$.stream') AS stream, json_extract(item, '$.topic') AS topic FROM outbox WHERE json_extract(item, '$.kind') IN ('message', 'card')"),
      getCard: db.prepare<[string], { key: string; message_id: number; stream: string; topic: string; content: string; posted_at: number }>('SELECT * FROM cards WHERE key = ?'),
      putCard: db.prepare('INSERT INTO cards (key, message_id, stream, topic, content, posted_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET message_id = excluded.message_id, stream = excluded.stream, topic = excluded.topic, content = excluded.content, posted_at = excluded.posted_at'),
      dropQueuedCard: db.prepare("DELETE FROM outbox WHERE json_extract(item, '$.kind') = 'card' AND json_extract(item, '$.key') = ?"),
      pendingFor: db.prepare<[string, string], { n: number }>("SELECT COUNT(*) AS n FROM outbox WHERE json_extract(item, '$.stream') = ? AND json_extract(item, '$.topic') = ?"),
      addJob: db.prepare('INSERT INTO jobs (kind, payload, run_at, created_at) VALUES (?, ?, ?, ?)'),
      dueJobs: db.prepare<[number, number], JobDbRow>('SELECT * FROM jobs WHERE run_at <= ? ORDER BY run_at, id LIMIT ?'),
      nextJob: db.prepare<[], { t: number | null }>('SELECT MIN(run_at) AS t FROM jobs'),
      finishJob: db.prepare('DELETE FROM jobs WHERE id = ?'),
      retryJob: db.prepare('UPDATE jobs SET run_at = ?, attempts = ?, last_error = ?, reported = ? WHERE id = ?'),
      jobCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jobs'),
    };
    for (const stmt of Object.values(this.stmts)) this.guard(stmt as unknown as Database.Statement<unknown[], unknown>);
  }

  /**
   * Every statement's run/get/all: an injected fault first (tests), SQLite's errors translated
   * (src/store/errors.ts) and remembered, and a successful write noted (see condition()).
   */
  private guard(stmt: Database.Statement<unknown[], unknown>): void {
    const writes = !stmt.reader;
    const methods = stmt as unknown as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>;
    for (const name of ['run', 'get', 'all'] as const) {
      const original = methods[name];
      methods[name] = (...args: unknown[]): unknown => {
        try {
          this.injectFault(writes);
          const result = original.apply(stmt, args);
          if (writes) this.wrote();
          return result;
        } catch (err) {
          throw this.failed(err);
        }
      };
    }
  }

  private injectFault(writes: boolean): void {
    const kind = this.opts.fault?.();
    if (kind === undefined || (!writes && kind !== 'corrupt')) return;
    const { code, message } = FAULT_ERRORS[kind];
    throw new Database.SqliteError(message, code);
  }

  private wrote(): void {
    if (this.db.inTransaction) this.txWrote = true;
    else this.failing = undefined;
  }

  /** The error to throw for err: SQLite's translated, and remembered (or, when corrupt, reported). */
  private failed(err: unknown): unknown {
    const e = translateSqliteError(err);
    if (e === err) return e; // not SQLite's, or translated by an inner call already
    if (e instanceof StoreUnavailableError) {
      this.failing = { code: e.code, reason: e.reason };
      this.failures++;
    } else if (e instanceof StoreCorruptError) {
      this.opts.onCorrupt?.(e);
    }
    return e;
  }

  transaction<T>(fn: () => T): T {
    const outer = !this.db.inTransaction;
    if (outer) this.txWrote = false;
    try {
      const result = this.runTx(fn) as T;
      if (outer && this.txWrote) this.failing = undefined;
      return result;
    } catch (err) {
      this.outboxView = undefined; // its writes, if any, were undone
      this.incidentCache.clear();
      throw this.failed(err);
    } finally {
      if (outer) this.txWrote = false;
    }
  }

  close(): void {
    if (!this.db.open) return;
    this.flushRemovals();
    this.flushFinished();
    this.db.close();
  }

  condition(): { failing?: { code: string; reason: string }; failures: number } {
    return { ...(this.failing ? { failing: { ...this.failing } } : {}), failures: this.failures };
  }

  checkFile(): { ok: true } | { ok: false; reason: string } {
    if (!this.identity) return { ok: true };
    let st;
    try {
      st = statSync(this.path, { throwIfNoEntry: false });
    } catch (err) {
      return { ok: false, reason: `cannot look at the store file ${this.path}: ${(err as Error).message}` };
    }
    if (!st) return { ok: false, reason: `the store file ${this.path} was deleted while open: what is stored now is lost at a restart` };
    if (st.dev !== this.identity.dev || st.ino !== this.identity.ino) {
      return { ok: false, reason: `the store file ${this.path} was replaced by another file while open: what is stored now is lost at a restart` };
    }
    return { ok: true };
  }

  getIncident(eventId: string): Incident | undefined {
    const cached = this.incidentCache.get(eventId);
    if (cached) return cached;
    const r = this.stmts.get.get(eventId);
    if (!r) return undefined;
    return this.remember(toIncident(r));
  }

  private remember(incident: Incident): Incident {
    if (this.incidentCache.size >= INCIDENT_CACHE_MAX) this.incidentCache.clear();
    if (incident.timers) {
      Object.freeze(incident.timers.warningsSent);
      Object.freeze(incident.timers);
    }
    this.incidentCache.set(incident.eventId, Object.freeze(incident));
    return incident;
  }

  putIncident(incident: Incident, log?: IncidentLogEntry, before?: Incident): void {
    const write = () => {
      const row = toIncidentRow(incident);
      if (before?.eventId === incident.eventId) {
        // Only the columns that changed (a repeated alert: its counters): fewer pages written.
        const old = toIncidentRow(before) as unknown as Record<string, unknown>;
        const changed = INCIDENT_COLUMNS.filter((c) => c !== 'event_id' && (row as unknown as Record<string, unknown>)[c] !== old[c]);
        if (changed.length > 0) this.incidentUpdate(changed).run(row);
        // The file's row is `before`'s with those columns: known only when `before` is what is known.
        if (this.incidentCache.get(incident.eventId) === before) this.remember(toIncident(row));
        else this.incidentCache.delete(incident.eventId);
      } else {
        this.stmts.put.run(row);
        this.remember(toIncident(row));
      }
      if (log) this.addLog(log);
    };
    // Inside a transaction already (the pipeline's, one per alert): no savepoint of its own.
    if (this.db.inTransaction) write();
    else this.transaction(write);
  }

  /** `UPDATE incidents SET <columns> WHERE event_id`, prepared once per set of columns. */
  private incidentUpdate(columns: readonly string[]): Database.Statement<[IncidentRow]> {
    const key = columns.join(',');
    let stmt = this.incidentUpdates.get(key);
    if (!stmt) {
      stmt = this.db.prepare<[IncidentRow]>(`UPDATE incidents SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE event_id = @event_id`);
      this.guard(stmt as unknown as Database.Statement<unknown[], unknown>);
      this.incidentUpdates.set(key, stmt);
    }
    return stmt;
  }

  openIncidents(): Incident[] {
    return this.stmts.open.all().map(toIncident);
  }

  dueIncidents(now: number): Incident[] {
    return this.stmts.due.all(now).map(toIncident);
  }

  nextDueAt(): number | undefined {
    return this.stmts.nextDue.get()?.t ?? undefined;
  }

  latestElsewhereForHost(host: string, not: TopicRef): Incident | undefined {
    const r = this.stmts.latestForHost.get(host, not.stream, not.topic);
    return r ? toIncident(r) : undefined;
  }

  incidentsOpenedBetween(from: number, to: number): Incident[] {
    return this.stmts.openedBetween.all(from, to).map(toIncident);
  }

  incidentsOfHost(host: string, limit: number): Incident[] {
    return this.stmts.ofHost.all(host, limit).map(toIncident);
  }

  criticalOpensSince(since: number): { eventId: string; at: number; host: string; triggerName: string; stream: string; topic: string }[] {
    return this.stmts.criticalOpens.all(since).map((r) => ({ eventId: r.event_id, at: r.at, host: r.host, triggerName: r.trigger_name, stream: r.stream, topic: r.topic }));
  }

  logsOfKind(kind: IncidentLogEntry['kind'], since: number): IncidentLogEntry[] {
    return this.stmts.logsOfKind.all(kind, since).map(toLogEntry);
  }

  openSummaries(): IncidentSummary[] {
    return (this.stmts.openSummaries.all() as [string, string, string, string, string, string, string, string, number, string | null, string][]).map(
      ([eventId, host, triggerName, severity, incidentClass, stream, topic, status, openedAt, acknowledgedBy, link]) => ({
        link,
        eventId,
        host,
        triggerName,
        severity: severity as Incident['severity'],
        incidentClass: incidentClass as Incident['incidentClass'],
        stream,
        topic,
        status: status as Incident['status'],
        openedAt,
        ...(acknowledgedBy !== null ? { acknowledgedBy } : {}),
      }),
    );
  }

  incidentsInTopic(ref: TopicRef, opts: { openOnly?: boolean } = {}): Incident[] {
    const stmt = opts.openOnly ? this.stmts.openInTopic : this.stmts.inTopic;
    return stmt.all(ref.stream, ref.topic).map(toIncident);
  }

  moveTopic(from: TopicRef, to: TopicRef): number {
    return this.transaction(() => {
      const [fk, tk] = [topicKey(from.topic), topicKey(to.topic)];
      if (from.stream !== to.stream || fk !== tk) {
        this.stmts.moveIds.run(to.stream, tk, from.stream, fk);
        this.stmts.moveChecklists.run(to.stream, tk, from.stream, fk);
        this.stmts.moveHandlers.run(to.stream, tk, from.stream, fk);
      }
      // Messages still queued for the old name go to the new one (else they would open the old topic again).
      this.outboxView = undefined;
      this.incidentCache.clear();
      this.stmts.moveOutbox.run(to.stream, to.topic, from.stream, from.topic);
      return this.stmts.move.run(to.stream, to.topic, from.stream, from.topic).changes;
    });
  }

  getCard(key: string): CardRecord | undefined {
    const r = this.stmts.getCard.get(key);
    return r ? { key: r.key, messageId: r.message_id, stream: r.stream, topic: r.topic, content: r.content, postedAt: r.posted_at } : undefined;
  }

  putCard(c: CardRecord): void {
    this.stmts.putCard.run(c.key, c.messageId, c.stream, c.topic, c.content, c.postedAt);
  }

  dropQueuedCard(key: string): number {
    this.outboxView = undefined;
    return this.stmts.dropQueuedCard.run(key).changes;
  }

  pendingTopics(): TopicRef[] {
    return this.stmts.pendingTopics.all().map((r) => ({ stream: r.stream, topic: r.topic }));
  }

  recordProjectId(r: ProjectIdRecord): boolean {
    return this.stmts.addProjectId.run(r.stream, topicKey(r.topic), r.triggerId ?? null, r.projectId, r.by, r.at, r.messageId ?? null).changes > 0;
  }

  projectIdsIn(ref: TopicRef): ProjectIdRecord[] {
    return this.stmts.projectIds.all(ref.stream, topicKey(ref.topic)).map((r) => ({
      stream: ref.stream,
      topic: ref.topic,
      projectId: r.project_id,
      by: r.posted_by,
      at: r.at,
      ...(r.trigger_id !== null ? { triggerId: r.trigger_id } : {}),
      ...(r.message_id !== null ? { messageId: r.message_id } : {}),
    }));
  }

  recordHandover(h: Handover): void {
    this.stmts.addHandover.run(h.from?.id ?? null, h.from?.name ?? null, h.to.id, h.to.name, h.by, h.at, h.forced ? 1 : 0);
  }

  handovers(limit: number): Handover[] {
    return this.stmts.handovers.all(limit).map((r) => ({
      ...(r.from_id !== null ? { from: { id: r.from_id, name: r.from_name ?? '' } } : {}),
      to: { id: r.to_id, name: r.to_name },
      by: r.by_name,
      at: r.at,
      forced: r.forced === 1,
    }));
  }

  setHandler(h: Handler): void {
    this.stmts.setHandler.run(h.stream, topicKey(h.topic), h.person.id, h.person.name, h.since, h.until);
  }

  handlerFor(ref: TopicRef): Handler | undefined {
    const r = this.stmts.handler.get(ref.stream, topicKey(ref.topic));
    return r ? toHandler(r) : undefined;
  }

  handlersEndingBy(now: number): Handler[] {
    return this.stmts.handlersUntil.all(now).map(toHandler);
  }

  handlersOf(personId: number): Handler[] {
    return this.stmts.handlersOf.all(personId).map(toHandler);
  }

  removeHandler(ref: TopicRef): boolean {
    return this.stmts.removeHandler.run(ref.stream, topicKey(ref.topic)).changes > 0;
  }

  markChecklistPosted(ref: TopicRef, triggerId: string, at: number): boolean {
    return this.stmts.addChecklist.run(ref.stream, topicKey(ref.topic), triggerId, at).changes > 0;
  }

  markAdvicePosted(ref: TopicRef, triggerId: string, kind: string, at: number): boolean {
    return this.stmts.addAdvice.run(ref.stream, topicKey(ref.topic), triggerId, kind, at).changes > 0;
  }

  clearAdvice(ref: TopicRef): number {
    return this.stmts.clearAdvice.run(ref.stream, topicKey(ref.topic)).changes;
  }

  addLog(e: IncidentLogEntry): void {
    this.stmts.addLog.run(e.eventId, e.at, e.kind, e.actor ?? null, e.detail ?? null);
  }

  history(eventId: string): IncidentLogEntry[] {
    return this.stmts.history.all(eventId).map(toLogEntry);
  }

  getState(key: string): string | undefined {
    return this.stmts.getState.get(key)?.value;
  }

  setState(key: string, value: string): void {
    this.stmts.setState.run(key, value);
  }

  raiseState(key: string, value: number): void {
    this.stmts.raiseState.run(key, String(value));
  }

  enqueue(item: OutgoingItem, now: number, lane: Lane = 'notice'): number {
    const json = JSON.stringify(item);
    const priority = LANE_PRIORITY[lane];
    let id: number;
    try {
      id = Number(this.stmts.enqueue.run(json, now, now, priority).lastInsertRowid);
    } catch (err) {
      this.outboxView = undefined;
      throw err;
    }
    const view = this.outboxView;
    if (view) {
      if (view.length >= OUTBOX_VIEW_MAX) this.outboxView = undefined;
      else {
        // Last of its lane (ids only grow), before the first row of a later lane.
        let at = view.length;
        while (at > 0 && (LANE_PRIORITY[(view[at - 1] as OutboxRow).lane ?? 'notice'] > priority)) at--;
        view.splice(at, 0, outboxRow(id, JSON.parse(json) as OutgoingItem, now, 0, now, priority));
      }
    }
    return id;
  }

  peek(): OutboxRow | undefined {
    if (this.outboxHeld()) return undefined;
    if (this.outboxView) return this.outboxView[0];
    let r;
    try {
      r = this.stmts.peek.get();
    } catch (err) {
      if (err instanceof StoreUnavailableError) return undefined;
      throw err;
    }
    if (!r) return undefined;
    return outboxRow(r.id, JSON.parse(r.item) as OutgoingItem, r.created_at, r.attempts, r.not_before, r.priority);
  }

  pending(limit: number): OutboxRow[] {
    if (this.outboxHeld()) return [];
    if (this.outboxView) return this.outboxView.slice(0, limit);
    let rows;
    try {
      rows = this.stmts.pendingRows.all(limit);
    } catch (err) {
      if (err instanceof StoreUnavailableError) return [];
      throw err;
    }
    const out = rows.map((r) => outboxRow(r.id, JSON.parse(r.item) as OutgoingItem, r.created_at, r.attempts, r.not_before, r.priority));
    // Fewer than asked for: that is the whole outbox (outside a transaction, whose writes may yet be undone).
    if (out.length < limit && out.length < OUTBOX_VIEW_MAX && !this.db.inTransaction) this.outboxView = out.slice();
    return out;
  }

  remove(id: number): void {
    this.pendingReschedules.delete(id);
    try {
      this.stmts.remove.run(id);
    } catch (err) {
      this.outboxView = undefined;
      if (!(err instanceof StoreUnavailableError) || this.db.inTransaction) throw err;
      this.pendingRemovals.add(id);
      return;
    }
    const at = this.viewIndex(id);
    if (at >= 0) this.outboxView?.splice(at, 1);
  }

  /**
   * Nothing is offered to send while the store cannot write (a send it could not record would go
   * out again) or a removal waits to be written; the store watch's probe ends the first.
   */
  private outboxHeld(): boolean {
    return this.failing !== undefined || !this.flushRemovals();
  }

  /** Writes the removals and reschedules that could not be written; false while it still cannot. */
  private flushRemovals(): boolean {
    try {
      for (const id of this.pendingRemovals) {
        this.stmts.remove.run(id);
        this.pendingRemovals.delete(id);
      }
      for (const [id, r] of this.pendingReschedules) {
        this.stmts.reschedule.run(r.notBefore, r.attempts, id);
        this.pendingReschedules.delete(id);
      }
    } catch (err) {
      if (err instanceof StoreUnavailableError) return false;
      throw err;
    }
    return true;
  }

  reschedule(id: number, notBefore: number, attempts: number): void {
    this.pendingReschedules.delete(id);
    try {
      this.stmts.reschedule.run(notBefore, attempts, id);
    } catch (err) {
      this.outboxView = undefined;
      if (!(err instanceof StoreUnavailableError) || this.db.inTransaction) throw err;
      if (!this.pendingRemovals.has(id)) this.pendingReschedules.set(id, { notBefore, attempts });
      return;
    }
    const view = this.outboxView;
    const at = this.viewIndex(id);
    if (view && at >= 0) view[at] = Object.freeze({ ...(view[at] as OutboxRow), notBefore, attempts });
  }

  /** Where row `id` is in the outbox view; -1 when not there or no view. */
  private viewIndex(id: number): number {
    return this.outboxView ? this.outboxView.findIndex((r) => r.id === id) : -1;
  }

  pendingFor(stream: string, topic: string): number {
    return this.stmts.pendingFor.get(stream, topic)?.n ?? 0;
  }

  size(): number {
    if (this.outboxView && this.pendingRemovals.size === 0) return this.outboxView.length;
    return Math.max(0, (this.stmts.size.get()?.n ?? 0) - this.pendingRemovals.size);
  }

  enqueueJob(kind: string, payload: unknown, runAt: number): number {
    return Number(this.stmts.addJob.run(kind, JSON.stringify(payload ?? null), runAt, runAt).lastInsertRowid);
  }

  dueJobs(now: number, limit: number): JobRow[] {
    if (this.failing || !this.flushFinished()) return []; // a job done now could not be marked done: it waits for the store
    return this.stmts.dueJobs.all(now, limit).map((r) => ({
      id: r.id,
      kind: r.kind,
      payload: JSON.parse(r.payload) as unknown,
      runAt: r.run_at,
      attempts: r.attempts,
      ...(r.last_error !== null ? { lastError: r.last_error } : {}),
      reported: r.reported === 1,
      createdAt: r.created_at,
    }));
  }

  nextJobAt(): number | undefined {
    if (this.failing) return undefined;
    return this.stmts.nextJob.get()?.t ?? undefined;
  }

  /** Like an outbox removal: when the store cannot write, held in memory and written once it can. */
  finishJob(id: number): void {
    try {
      this.stmts.finishJob.run(id);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || this.db.inTransaction) throw err;
      this.pendingFinished.add(id);
    }
  }

  /** Writes the job ends that could not be written; false while it still cannot. */
  private flushFinished(): boolean {
    for (const id of this.pendingFinished) {
      try {
        this.stmts.finishJob.run(id);
      } catch (err) {
        if (err instanceof StoreUnavailableError) return false;
        throw err;
      }
      this.pendingFinished.delete(id);
    }
    return true;
  }

  retryJob(id: number, runAt: number, attempts: number, error: string, reported: boolean): void {
    try {
      this.stmts.retryJob.run(runAt, attempts, error.slice(0, 1000), reported ? 1 : 0, id);
    } catch (err) {
      // Best effort, like reschedule: the job stays due and is offered again once the store writes.
      if (!(err instanceof StoreUnavailableError) || this.db.inTransaction) throw err;
    }
  }

  jobCount(): number {
    return Math.max(0, (this.stmts.jobCount.get()?.n ?? 0) - this.pendingFinished.size);
  }

  // GitLab tracking (src/features/gitlab/). Its statements are prepared on first use, guarded like the rest.
  private gitlabStmts: ReturnType<SqliteStore['prepareGitlab']> | undefined;

  private get gl(): ReturnType<SqliteStore['prepareGitlab']> {
    if (!this.gitlabStmts) {
      this.gitlabStmts = this.prepareGitlab();
      for (const stmt of Object.values(this.gitlabStmts)) this.guard(stmt as unknown as Database.Statement<unknown[], unknown>);
    }
    return this.gitlabStmts;
  }

  private prepareGitlab() {
    const db = this.db;
    type IssueRow = { iid: number; web_url: string; title: string; state: string; state_at: number; created_at: number };
    return {
      upsertIssue: db.prepare(
        `INSERT INTO gitlab_issues (iid, web_url, title, state, state_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(iid) DO UPDATE SET web_url = excluded.web_url, title = excluded.title`,
      ),
      link: db.prepare('INSERT OR REPLACE INTO gitlab_links (event_id, iid, at) VALUES (?, ?, ?)'),
      issue: db.prepare<[number], IssueRow>('SELECT * FROM gitlab_issues WHERE iid = ?'),
      issueOf: db.prepare<[string], IssueRow>('SELECT i.* FROM gitlab_links l JOIN gitlab_issues i ON i.iid = l.iid WHERE l.event_id = ?'),
      issuesIn: db.prepare<[string], IssueRow>('SELECT * FROM gitlab_issues WHERE state = ? ORDER BY created_at, iid'),
      eventsOf: db.prepare<[number], { event_id: string }>('SELECT event_id FROM gitlab_links WHERE iid = ? ORDER BY at, event_id'),
      setState: db.prepare('UPDATE gitlab_issues SET state = ?, state_at = ? WHERE iid = ?'),
      forgetIssue: db.prepare('DELETE FROM gitlab_issues WHERE iid = ?'),
      forgetLinks: db.prepare('DELETE FROM gitlab_links WHERE iid = ?'),
      forgetNotes: db.prepare('DELETE FROM gitlab_notes WHERE iid = ?'),
      markNote: db.prepare('INSERT OR IGNORE INTO gitlab_notes (iid, note_id, origin, message_id, at) VALUES (?, ?, ?, ?, ?)'),
      noteSeen: db.prepare<[number, number], { n: number }>('SELECT 1 AS n FROM gitlab_notes WHERE iid = ? AND note_id = ?'),
      noteOfMessage: db.prepare<[number], { note_id: number }>('SELECT note_id FROM gitlab_notes WHERE message_id = ? LIMIT 1'),
      hurry: db.prepare("UPDATE jobs SET run_at = ? WHERE run_at > ? AND attempts > 0 AND substr(kind, 1, ?) = ?"),
      queueNote: db.prepare('INSERT OR IGNORE INTO gitlab_pending_notes (message_id, event_id, payload, at) VALUES (?, ?, ?, ?)'),
      pendingNotes: db.prepare<[], { message_id: number; event_id: string; payload: string }>('SELECT message_id, event_id, payload FROM gitlab_pending_notes ORDER BY message_id'),
      dropNote: db.prepare('DELETE FROM gitlab_pending_notes WHERE message_id = ?'),
    };
  }

  private toGitlabIssue(r: { iid: number; web_url: string; title: string; state: string; state_at: number; created_at: number }): GitlabIssueRecord {
    return {
      iid: r.iid,
      webUrl: r.web_url,
      title: r.title,
      state: r.state === 'closed' ? 'closed' : 'opened',
      stateAt: r.state_at,
      createdAt: r.created_at,
      eventIds: this.gl.eventsOf.all(r.iid).map((e) => e.event_id),
    };
  }

  linkGitlabIssue(eventId: string, issue: { iid: number; webUrl: string; title: string; state: 'opened' | 'closed' }, at: number): void {
    this.transaction(() => {
      this.gl.upsertIssue.run(issue.iid, issue.webUrl, issue.title, issue.state, at, at);
      this.gl.link.run(eventId, issue.iid, at);
    });
  }

  gitlabIssueOf(eventId: string): GitlabIssueRecord | undefined {
    const r = this.gl.issueOf.get(eventId);
    return r ? this.toGitlabIssue(r) : undefined;
  }

  gitlabIssue(iid: number): GitlabIssueRecord | undefined {
    const r = this.gl.issue.get(iid);
    return r ? this.toGitlabIssue(r) : undefined;
  }

  gitlabIssues(state: 'opened' | 'closed'): GitlabIssueRecord[] {
    return this.gl.issuesIn.all(state).map((r) => this.toGitlabIssue(r));
  }

  setGitlabIssueState(iid: number, state: 'opened' | 'closed', at: number): void {
    this.gl.setState.run(state, at, iid);
  }

  forgetGitlabIssue(iid: number): void {
    this.transaction(() => {
      this.gl.forgetIssue.run(iid);
      this.gl.forgetLinks.run(iid);
      this.gl.forgetNotes.run(iid);
    });
  }

  markGitlabNote(iid: number, noteId: number, origin: 'bot' | 'gitlab', at: number, messageId?: number): boolean {
    return this.gl.markNote.run(iid, noteId, origin, messageId ?? null, at).changes > 0;
  }

  gitlabNoteSeen(iid: number, noteId: number): boolean {
    return this.gl.noteSeen.get(iid, noteId) !== undefined;
  }

  gitlabNoteOfMessage(messageId: number): number | undefined {
    return this.gl.noteOfMessage.get(messageId)?.note_id;
  }

  queueGitlabNote(messageId: number, eventId: string, payload: unknown, at: number): boolean {
    return this.gl.queueNote.run(messageId, eventId, JSON.stringify(payload), at).changes > 0;
  }

  pendingGitlabNotes(): { messageId: number; eventId: string; payload: unknown }[] {
    return this.gl.pendingNotes.all().map((r) => ({ messageId: r.message_id, eventId: r.event_id, payload: JSON.parse(r.payload) as unknown }));
  }

  dropGitlabNote(messageId: number): void {
    this.gl.dropNote.run(messageId);
  }

  hurryJobs(prefix: string, now: number): number {
    return this.gl.hurry.run(now, now, prefix.length, prefix).changes;
  }

  // Ownership (issue 19): handlers of areas and host patterns. Prepared on first use, guarded like the rest.
  private ownershipStmts: ReturnType<SqliteStore['prepareOwnership']> | undefined;

  private get own(): ReturnType<SqliteStore['prepareOwnership']> {
    if (!this.ownershipStmts) {
      this.ownershipStmts = this.prepareOwnership();
      for (const stmt of Object.values(this.ownershipStmts)) this.guard(stmt as unknown as Database.Statement<unknown[], unknown>);
    }
    return this.ownershipStmts;
  }

  private prepareOwnership() {
    const db = this.db;
    type Row = { scope: string; key: string; person_id: number; person_name: string; since: number; until: number; stream: string | null; topic: string | null };
    return {
      set: db.prepare('INSERT OR REPLACE INTO scoped_handlers (scope, key, person_id, person_name, since, until, stream, topic) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      all: db.prepare<[], Row>('SELECT * FROM scoped_handlers ORDER BY since, scope, key'),
      remove: db.prepare('DELETE FROM scoped_handlers WHERE scope = ? AND key = ?'),
    };
  }

  setScopedHandler(h: ScopedHandler): void {
    this.own.set.run(h.scope, h.key, h.person.id, h.person.name, h.since, h.until, h.where?.stream ?? null, h.where?.topic ?? null);
  }

  scopedHandlers(): ScopedHandler[] {
    return this.own.all.all().map((r) => ({
      scope: r.scope === 'host' ? 'host' : 'area',
      key: r.key,
      person: { id: r.person_id, name: r.person_name },
      since: r.since,
      until: r.until,
      ...(r.stream !== null && r.topic !== null ? { where: { stream: r.stream, topic: r.topic } } : {}),
    }));
  }

  removeScopedHandler(scope: ScopedHandler['scope'], key: string): boolean {
    return this.own.remove.run(scope, key).changes > 0;
  }
}

interface JobDbRow {
  id: number;
  kind: string;
  payload: string;
  run_at: number;
  attempts: number;
  last_error: string | null;
  reported: number;
  created_at: number;
}

/**
 * Every row of the store's tables, read in one read transaction (a consistent copy while a bot
 * runs on the file): for `zulip-sre-bot migrate` (src/store/migrate.ts). Migrates the file first.
 */
export function readSqliteTables(path: string, tables: readonly string[]): Map<string, Record<string, unknown>[]> {
  openSqliteStore(path).close(); // the schema up to date (a no-op when a bot of this version runs on it)
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.transaction(() => {
      const out = new Map<string, Record<string, unknown>[]>();
      for (const t of tables) out.set(t, db.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[]);
      return out;
    })();
  } finally {
    db.close();
  }
}
