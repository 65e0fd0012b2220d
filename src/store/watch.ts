/**
 * Watches the store for /healthz and for the team:
 * - an outage (the store cannot write: disk full, I/O error, read-only…): logged once at error
 *   level and said once in the general stream — through the outbox if it still takes it, else
 *   straight through the Zulip API (the outbox lives in the store that cannot write). Intake is
 *   stopped meanwhile (the event poller retries the message; nothing is skipped). The outage ends
 *   when a write succeeds again and intake is not held up; that is logged and said once;
 * - the file on disk no longer being the database that is open (deleted or replaced): logged at
 *   error level and said once;
 * - /healthz's store part (`status`).
 * `tick` runs every second (the scheduler's round); `intake` wraps the event poller's sink.
 */
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { dateFormat } from '../core/time-format';
import { isStoreError, type StoreError } from './errors';
import type { StateStore, StoreCondition } from './store';

export interface StoreWatchDeps {
  store: StoreCondition & StateStore;
  clock: Clock;
  log: Logger;
  /** Says a line in the general stream through the outbox; throws when the store cannot take it. */
  say(text: string): void;
  /** Says it straight through the Zulip API; `key` (hex) makes a retry find it rather than post it twice. */
  sayDirect(text: string, key?: string): Promise<void>;
  /** For the times in chat. */
  timeZone: string;
  /** How often the file on disk is compared with the open one (default 5 s). */
  fileCheckEveryMs?: number;
  /** How long after a failed direct notice it is tried again (default 2 s). */
  retryNoticeMs?: number;
}

export interface StoreStatus {
  ok: boolean;
  /** Why not ok, e.g. "store: cannot write: database or disk is full". */
  reason?: string;
  /** The outage: since when the store cannot write, and whether intake waits on it. */
  outage?: { since: number; reason: string; intakeStopped: boolean };
  file: { ok: true } | { ok: false; reason: string };
}

interface Outage {
  since: number;
  reason: string;
  /** The team was told (through the outbox or directly). */
  announced: boolean;
  /** A direct notice is on its way. */
  sending: boolean;
  lastTryAt: number;
}

const PROBE_KEY = 'store.probe';

export class StoreWatch {
  private outage: Outage | undefined;
  private outageSeen = false;
  /** The last message intake tried failed on the store: the poller retries it. */
  private stalled: StoreError | undefined;
  private fileProblem: string | undefined;
  private lastFileCheck = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: StoreWatchDeps) {}

  /** Whether this process saw an outage of its own (it then says that outage's end itself). */
  get sawOutage(): boolean {
    return this.outageSeen;
  }

  /** Runs one event through intake (the poller's sink), noting whether the store let it. */
  async intake<T>(handle: () => Promise<T> | T): Promise<T> {
    let result: T;
    try {
      result = await handle();
    } catch (err) {
      if (isStoreError(err)) {
        this.stalled = err;
        this.update(this.deps.clock.now());
      }
      throw err;
    }
    if (this.stalled) {
      this.stalled = undefined;
      this.update(this.deps.clock.now());
    }
    return result;
  }

  /** The scheduler's second: probes the store during an outage, checks the file now and then. Never throws. */
  tick(now: number): void {
    try {
      if (this.outage && !this.stalled) {
        try {
          this.deps.store.setState(PROBE_KEY, String(now));
        } catch {
          // remembered by the store (condition): the outage goes on
        }
      }
      this.update(now);
      if (this.outage && !this.outage.announced && !this.outage.sending && now - this.outage.lastTryAt >= (this.deps.retryNoticeMs ?? 2_000)) this.announceOutage(now);
      if (now - this.lastFileCheck >= (this.deps.fileCheckEveryMs ?? 5_000)) {
        this.lastFileCheck = now;
        this.checkFile();
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'store watch failed');
    }
  }

  /** /healthz's view of the store (looks at the file now). */
  status(now: number): StoreStatus {
    this.update(now);
    const file = this.checkFile();
    const o = this.outage;
    const reason = o ? `store: ${o.reason}` : !file.ok ? `store: ${file.reason}` : undefined;
    return {
      ok: !o && file.ok,
      ...(reason ? { reason } : {}),
      ...(o ? { outage: { since: o.since, reason: o.reason, intakeStopped: this.stalled !== undefined } } : {}),
      file,
    };
  }

  private update(now: number): void {
    const failing = this.deps.store.condition().failing;
    const down = failing !== undefined || this.stalled !== undefined;
    if (down && !this.outage) {
      const reason = failing?.reason ?? this.stalled?.reason ?? 'cannot write';
      this.outage = { since: now, reason, announced: false, sending: false, lastTryAt: now };
      this.outageSeen = true;
      this.deps.log.error(
        { reason, code: failing?.code ?? this.stalled?.code, path: this.deps.store.path },
        `store: ${reason}; intake stopped until the store can write again (no message is skipped)`,
      );
      this.announceOutage(now);
    } else if (!down && this.outage) {
      const o = this.outage;
      this.outage = undefined;
      this.deps.log.info({ reason: o.reason, downForMs: now - o.since }, 'store writes again; intake resumed');
      if (!o.announced) return;
      try {
        this.deps.say(backAgain(`it could not since ${this.time(o.since)}: ${this.detail(o.reason)}`));
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'could not say that the store writes again');
      }
    }
  }

  /** Says the outage once: through the outbox, or directly when the outbox cannot take it. */
  private announceOutage(now: number): void {
    const o = this.outage;
    if (!o || o.announced || o.sending) return;
    o.lastTryAt = now;
    const text =
      `⚠️ My store cannot write since ${this.time(o.since)} (${this.detail(o.reason)}): I hold back every alert and command — none is skipped — ` +
      `and handle them in order as soon as it can; I will say so here. Store: \`${this.deps.store.path}\``;
    try {
      this.deps.say(text);
      o.announced = true;
      return;
    } catch (err) {
      if (!isStoreError(err)) this.deps.log.warn({ err: (err as Error).message }, 'could not queue the store notice');
    }
    o.sending = true;
    this.deps.sayDirect(text, o.since.toString(16)).then(
      () => {
        o.announced = true;
        o.sending = false;
      },
      (err: unknown) => {
        o.sending = false;
        this.deps.log.warn({ err: (err as Error).message }, 'could not tell the team that the store cannot write; trying again');
      },
    );
  }

  private checkFile(): { ok: true } | { ok: false; reason: string } {
    const file = this.deps.store.checkFile();
    if (!file.ok && this.fileProblem === undefined) {
      this.fileProblem = file.reason;
      this.deps.log.error({ reason: file.reason, path: this.deps.store.path }, `store: ${file.reason}`);
      const text = `⚠️ ${file.reason.charAt(0).toUpperCase()}${file.reason.slice(1)}. I work on from the open file, and /healthz fails, until I am restarted on a restored store.`;
      try {
        this.deps.say(text);
      } catch {
        this.deps.sayDirect(text).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'could not tell the team that the store file is gone'));
      }
    } else if (file.ok && this.fileProblem !== undefined) {
      this.fileProblem = undefined;
      this.deps.log.info({ path: this.deps.store.path }, 'store file is the open database again');
    }
    return file;
  }

  private detail(reason: string): string {
    return reason.replace(/^cannot write: /, '');
  }

  private time(at: number): string {
    return outageTime(at, this.deps.timeZone);
  }
}

/** An outage's time as the store notices say it (HH:MM:SS in the team's zone). */
function outageTime(at: number, timeZone: string): string {
  return dateFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(at);
}

/** The notice that the store writes again; `why` says which outage ended. */
function backAgain(why: string): string {
  return `✅ My store writes again (${why}): alerts and commands are handled again, none was skipped.`;
}

/** Said by a restarted process for an outage a process before it said but did not see end (its alarm at `alarmAt`). */
export function backAgainAfterRestart(alarmAt: number, timeZone: string): string {
  return backAgain(`the outage said at ${outageTime(alarmAt, timeZone)} is over; I was restarted since`);
}
