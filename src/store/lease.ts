/**
 * Leader election on PostgreSQL (issue 22): every instance connects; one holds the lease and
 * works (polls Zulip, sends, ticks, syncs), the others wait as hot standbys.
 *
 * The lease is a session-level advisory lock (`pg_try_advisory_lock`) held on a session of its
 * own, so it goes the moment that session ends — the process killed, its machine gone, its
 * connection cut — plus a row in `ha_lease`:
 * - **Fencing token.** Each takeover increments `ha_lease.token`; the new leader's store writes
 *   under it (`PostgresStore.fence`), and every writing transaction first checks it with a shared
 *   row lock (src/store/postgres-store.ts). A deposed leader that does not know it yet cannot
 *   write: not its position, not a reply, not the attempt it records before each send (so it
 *   sends nothing either: src/zulip/outbox-sender.ts sends only what it could record).
 * - **Renewal.** The leader renews `renewed_at` (the database's clock) every `failover / 6`;
 *   a renewal that fails or finds another token means the lease is lost. A holder that stops
 *   renewing for `failover` while its session lives on (a hung process, a connection the server
 *   has not seen die) has its lease session terminated by a standby, which then takes over.
 * A standby tries every `failover / 30` (at most 1 s), so a dead leader is replaced within a
 * second or two, a hung or cut-off one within `failover`.
 */
import type { Logger } from '../core/log';
import type { PgSession, PostgresStore } from './postgres-store';

/** The advisory lock's first key ("SR"): the second is the schema's hash, so two bots on one database in two schemas do not meet. */
const LOCK_CLASS = 0x5352;
const NOW_MS = '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint';

export interface LeaseOptions {
  /** How soon a standby takes over from a holder that stopped renewing (ms). */
  failoverMs: number;
  /** Who this instance is, for the row and the logs (host:pid). */
  holder: string;
  log: Logger;
}

export interface LeaseHolderInfo {
  holder?: string;
  token: number;
  /** How long ago the holder last renewed (ms), by the database's clock. */
  ageMs?: number;
}

export type TakeResult = { taken: true; token: number } | { taken: false; held?: LeaseHolderInfo; error?: string };

export class Lease {
  private session: PgSession | undefined;
  private tokenHeld: number | undefined;
  /** Times this instance took the lease over. */
  takeovers = 0;

  constructor(
    private readonly store: PostgresStore,
    private readonly opts: LeaseOptions,
  ) {}

  get token(): number | undefined {
    return this.tokenHeld;
  }

  get held(): boolean {
    return this.tokenHeld !== undefined;
  }

  /** How often a standby tries, and the leader renews. */
  get tryEveryMs(): number {
    return Math.max(50, Math.min(1_000, Math.round(this.opts.failoverMs / 30)));
  }

  get renewEveryMs(): number {
    return Math.max(100, Math.min(5_000, Math.round(this.opts.failoverMs / 6)));
  }

  private open(): PgSession {
    if (this.session) return this.session;
    const s = this.store.openSession('zulip-sre-bot lease');
    try {
      // Bounded: a renewal that cannot finish in time is a lost lease, not a hung bot.
      const timeout = Math.max(200, Math.round(this.opts.failoverMs / 3));
      s.query(`SET statement_timeout = ${timeout}; SET lock_timeout = ${timeout}; SET idle_in_transaction_session_timeout = ${Math.max(1_000, this.opts.failoverMs)}`);
    } catch (err) {
      s.close();
      throw err;
    }
    this.session = s;
    return s;
  }

  private drop(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** One attempt to become the leader (synchronous, bounded). */
  tryTake(): TakeResult {
    if (this.tokenHeld !== undefined) return { taken: true, token: this.tokenHeld };
    let s: PgSession;
    try {
      s = this.open();
      const got = s.query(`SELECT pg_try_advisory_lock(${LOCK_CLASS}, hashtext(current_schema())) AS ok`)[0]?.ok === true;
      if (!got) {
        const row = s.query(`SELECT holder, holder_pid, token, ${NOW_MS} - renewed_at AS age FROM ha_lease WHERE name = 'leader'`)[0];
        const held: LeaseHolderInfo = { token: Number(row?.token ?? 0), ...(row?.holder ? { holder: String(row.holder) } : {}), ...(row?.age !== null && row?.age !== undefined ? { ageMs: Number(row.age) } : {}) };
        if (held.ageMs !== undefined && held.ageMs > this.opts.failoverMs && row?.holder_pid) {
          // The holder stopped renewing but its session lives on: cut it, so its lock goes.
          this.opts.log.warn({ holder: held.holder, renewedAgoMs: held.ageMs, token: held.token }, `the leader ${held.holder ?? '?'} has not renewed its lease for ${Math.round(held.ageMs / 1000)} s: ending its session to take over`);
          s.query(
            `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = ${LOCK_CLASS} AND granted AND pid = $1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            [row.holder_pid],
          );
        }
        return { taken: false, held };
      }
      s.query('BEGIN');
      let token: number;
      try {
        const r = s.query(
          `UPDATE ha_lease SET token = token + 1, holder = $1, holder_pid = pg_backend_pid(), acquired_at = ${NOW_MS}, renewed_at = ${NOW_MS} WHERE name = 'leader' RETURNING token`,
          [this.opts.holder],
        )[0];
        if (!r) throw new Error('the ha_lease row is missing');
        token = Number(r.token);
        s.query('COMMIT');
      } catch (err) {
        try {
          s.query('ROLLBACK');
        } catch {
          // the session is gone
        }
        throw err;
      }
      this.tokenHeld = token;
      this.takeovers++;
      this.store.fence(token);
      return { taken: true, token };
    } catch (err) {
      // The database cannot be reached, or the session broke: a new session next time.
      this.drop();
      return { taken: false, error: ((err as Error).message ?? String(err)).trim().split('\n')[0] ?? '' };
    }
  }

  /** Renews the lease; false (and the lease is given up) when it is lost. */
  renew(): { ok: true } | { ok: false; reason: string } {
    if (this.tokenHeld === undefined || !this.session) return { ok: false, reason: 'not the leader' };
    try {
      this.session.query(`UPDATE ha_lease SET renewed_at = ${NOW_MS} WHERE name = 'leader' AND token = $1 AND holder_pid = pg_backend_pid()`, [this.tokenHeld]);
      if (this.session.changes() === 1) return { ok: true };
      const reason = 'another instance took the lease over';
      this.lost();
      return { ok: false, reason };
    } catch (err) {
      const reason = `cannot renew the lease: ${((err as Error).message ?? String(err)).trim().split('\n')[0]}`;
      this.lost();
      return { ok: false, reason };
    }
  }

  private lost(): void {
    this.tokenHeld = undefined;
    this.drop();
  }

  /** Gives the lease up (a clean stop): the lock goes with the session, a standby takes over at once. */
  release(): void {
    if (this.session && this.tokenHeld !== undefined) {
      try {
        this.session.query(`UPDATE ha_lease SET renewed_at = NULL WHERE name = 'leader' AND token = $1`, [this.tokenHeld]);
      } catch {
        // closing anyway
      }
    }
    this.tokenHeld = undefined;
    this.drop();
  }
}
