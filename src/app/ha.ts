/**
 * High availability with store.url (issue 22): this instance waits as a hot standby (connected to
 * PostgreSQL and logged in to Zulip, /healthz 200 `standby`) until it holds the lease
 * (src/store/lease.ts), then src/main.ts builds and starts the bot. While it leads it renews the
 * lease; a lost lease (another instance took over, or the database cannot be reached in time)
 * ends the process at once (exit 1, as Kubernetes' controllers do on a lost leader election): a
 * supervisor restarts it, and it comes back as a standby. Nothing it has not written can be lost —
 * the new leader resumes from the stored position — and what it would write late is refused by
 * the fencing token.
 */
import { hostname } from 'node:os';
import { sleep } from '../core/async';
import type { Logger } from '../core/log';
import { Lease, type LeaseHolderInfo } from '../store/lease';
import type { PostgresStore } from '../store/postgres-store';

export interface HaStatus {
  role: 'leader' | 'standby';
  /** This instance (host:pid). */
  instance: string;
  /** The fencing token this instance writes under, when it leads. */
  token?: number;
  /** The leader as the last attempt saw it, when this instance waits. */
  leader?: { instance?: string; token: number; renewedAgoSeconds?: number };
  /** Why the last attempt could not even ask (the database cannot be reached). */
  reason?: string;
  takeovers: number;
  /** When this instance took the lease (ms since the epoch). */
  since?: number;
}

export class HaController {
  private readonly lease: Lease;
  readonly instance: string;
  private lastHeld: LeaseHolderInfo | undefined;
  private lastError: string | undefined;
  private since: number | undefined;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    store: PostgresStore,
    private readonly opts: { failoverMs: number; log: Logger; instance?: string },
  ) {
    this.instance = opts.instance ?? `${hostname()}:${process.pid}`;
    this.lease = new Lease(store, { failoverMs: opts.failoverMs, holder: this.instance, log: opts.log });
  }

  get leader(): boolean {
    return this.lease.held;
  }

  get takeovers(): number {
    return this.lease.takeovers;
  }

  status(): HaStatus {
    const base = { instance: this.instance, takeovers: this.lease.takeovers };
    if (this.lease.held) return { role: 'leader', ...base, ...(this.lease.token !== undefined ? { token: this.lease.token } : {}), ...(this.since !== undefined ? { since: this.since } : {}) };
    const h = this.lastHeld;
    return {
      role: 'standby',
      ...base,
      ...(h ? { leader: { ...(h.holder ? { instance: h.holder } : {}), token: h.token, ...(h.ageMs !== undefined ? { renewedAgoSeconds: Math.round(h.ageMs / 100) / 10 } : {}) } } : {}),
      ...(this.lastError ? { reason: this.lastError } : {}),
    };
  }

  /** Waits as a standby until this instance holds the lease: true, or false when `signal` stopped the wait. */
  async waitForLease(signal: AbortSignal): Promise<boolean> {
    let waitingSaid = false;
    while (!signal.aborted) {
      const r = this.lease.tryTake();
      if (r.taken) {
        this.since = Date.now();
        this.lastError = undefined;
        this.opts.log.info({ instance: this.instance, token: r.token, previous: this.lastHeld?.holder ?? null }, `took the lease (token ${r.token}): this instance is the leader`);
        return true;
      }
      if (r.error !== undefined) {
        if (this.lastError !== r.error) this.opts.log.warn({ err: r.error }, 'cannot ask for the lease: the database cannot be reached; trying again');
        this.lastError = r.error;
      } else {
        this.lastError = undefined;
        this.lastHeld = r.held;
        if (!waitingSaid) {
          waitingSaid = true;
          this.opts.log.info({ instance: this.instance, leader: r.held?.holder ?? null, token: r.held?.token ?? null }, `standby: ${r.held?.holder ?? 'another instance'} holds the lease; taking over when it goes`);
        }
      }
      await sleep(this.lease.tryEveryMs, signal);
    }
    return false;
  }

  /** Renews the lease until `release`; `onLost` is called once when it is lost. */
  keep(onLost: (reason: string) => void): void {
    const round = () => {
      const r = this.lease.renew();
      if (r.ok) {
        this.renewTimer = setTimeout(round, this.lease.renewEveryMs);
        return;
      }
      this.renewTimer = undefined;
      onLost(r.reason);
    };
    this.renewTimer = setTimeout(round, this.lease.renewEveryMs);
  }

  /** A clean stop: the lease goes at once (a standby takes over without waiting). */
  release(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    this.lease.release();
  }
}
