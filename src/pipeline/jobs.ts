/**
 * After-commit jobs: work that waits on the network (acknowledging in Zabbix, reading Zulip
 * history, later GitLab) never runs while alerts and commands wait. A command or hook queues a
 * job in the same transaction as its state change; the runner does it afterwards, beside the
 * message path, and retries it with backoff until it succeeds. Jobs survive a crash (they are
 * rows in the store): a job whose work was done but not yet marked done runs again, so handlers
 * are written to be safe to repeat. A failure is said in chat once (the handler says where).
 */
import { backoffDelay } from '../core/async';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { isStoreError } from '../store/errors';
import type { JobRow, JobStore } from '../store/store';

export interface JobContext {
  /** 1 for the first try. */
  attempt: number;
  /** Aborted when the job takes longer than its timeout or the bot stops. */
  signal: AbortSignal;
}

export interface JobHandler<P = never> {
  kind: string;
  /** Does the work; throws to be tried again later. */
  run(payload: P, ctx: JobContext): Promise<void>;
  /** Says in chat that it failed and is being retried; called once per job, inside a transaction. */
  reportFailure?(payload: P, error: Error): void;
  /** Called when the job gives up after `maxAttempts`, inside a transaction. */
  giveUp?(payload: P, error: Error): void;
  /** Attempts before giving up (default 50: about a day with the default backoff). */
  maxAttempts?: number;
  /** Milliseconds one attempt may take (default 60 s). */
  timeoutMs?: number;
}

/** What commands and hooks see: queue a job of a kind some module handles. */
export interface JobQueue {
  enqueue(kind: string, payload: unknown): void;
}

export interface JobRunnerDeps {
  store: JobStore & { transaction<T>(fn: () => T): T };
  clock: Clock;
  log: Logger;
  handlers: readonly JobHandler<never>[];
  concurrency?: number;
  random?: () => number;
  backoff?: { baseMs: number; maxMs: number };
  /** Counts failures (metrics). */
  onFailure?: (kind: string) => void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_ATTEMPTS = 50;
/** The runner looks at the queue at least this often (a job retried later, a clock moved by tests). */
const IDLE_MS = 1_000;

export class JobRunner implements JobQueue {
  private readonly handlers = new Map<string, JobHandler<unknown>>();
  private readonly running = new Map<number, Promise<void>>();
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  readonly stats = { done: 0, failed: 0, gaveUp: 0 };

  constructor(private readonly deps: JobRunnerDeps) {
    for (const h of deps.handlers) {
      if (this.handlers.has(h.kind)) throw new Error(`job kind ${h.kind} handled twice`);
      this.handlers.set(h.kind, h as JobHandler<unknown>);
    }
  }

  /** Queues a job now (call inside the transaction of the change that needs it). */
  enqueue(kind: string, payload: unknown): void {
    if (!this.handlers.has(kind)) throw new Error(`no module handles job kind ${kind}`);
    this.deps.store.enqueueJob(kind, payload, this.deps.clock.now());
    this.kick();
  }

  /** Wakes the runner (something was queued). */
  kick(): void {
    this.wake?.();
  }

  get depth(): number {
    return this.deps.store.jobCount();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops taking jobs; waits up to `graceMs` for running ones (a hung one is left to be retried after restart). */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    this.kick();
    await this.loop;
    await Promise.race([Promise.allSettled([...this.running.values()]), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** Starts every due job there is room for; resolves when those have finished (tests, shutdown). */
  async runDue(): Promise<void> {
    this.launchDue();
    await Promise.allSettled([...this.running.values()]);
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        this.launchDue();
      } catch (err) {
        (isStoreError(err) ? this.deps.log.warn.bind(this.deps.log) : this.deps.log.error.bind(this.deps.log))({ err }, 'job queue unreadable; trying again');
      }
      const next = this.deps.store.nextJobAt();
      const wait = Math.max(10, Math.min(IDLE_MS, next === undefined ? IDLE_MS : next - this.deps.clock.now()));
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, wait);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  private launchDue(): void {
    const room = (this.deps.concurrency ?? 4) - this.running.size;
    if (room <= 0 || this.stopping.signal.aborted) return;
    const due = this.deps.store.dueJobs(this.deps.clock.now(), room + this.running.size).filter((j) => !this.running.has(j.id));
    for (const job of due.slice(0, room)) {
      const p = this.attempt(job)
        .catch((err: unknown) => (isStoreError(err) ? this.deps.log.warn.bind(this.deps.log) : this.deps.log.error.bind(this.deps.log))({ err, jobId: job.id, kind: job.kind }, 'job bookkeeping failed; the job is tried again later'))
        .finally(() => {
        this.running.delete(job.id);
        this.kick();
      });
      this.running.set(job.id, p);
    }
  }

  private async attempt(job: JobRow): Promise<void> {
    const { store, clock, log } = this.deps;
    const handler = this.handlers.get(job.kind);
    if (!handler) {
      // Queued by an earlier configuration (e.g. Zabbix since removed): said, then dropped.
      log.error({ jobId: job.id, kind: job.kind }, 'no module handles this job kind any more; dropped');
      store.finishJob(job.id);
      return;
    }
    const attempt = job.attempts + 1;
    const timeout = new AbortController();
    const onStop = () => timeout.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => timeout.abort(), handler.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      await Promise.race([
        handler.run(job.payload, { attempt, signal: timeout.signal }),
        new Promise<never>((_, reject) => timeout.signal.addEventListener('abort', () => reject(new Error(this.stopping.signal.aborted ? 'the bot is stopping' : 'timed out')), { once: true })),
      ]);
      store.finishJob(job.id);
      this.stats.done++;
      if (attempt > 1) log.info({ jobId: job.id, kind: job.kind, attempt }, 'job done after retrying');
    } catch (e) {
      if (this.stopping.signal.aborted) return; // not counted: tried again after the restart
      const err = e instanceof Error ? e : new Error(String(e));
      this.stats.failed++;
      this.deps.onFailure?.(job.kind);
      const max = handler.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      const base = this.deps.backoff ?? { baseMs: 2_000, maxMs: 30 * 60_000 };
      const delay = backoffDelay(attempt - 1, this.deps.random ?? Math.random, base.baseMs, base.maxMs);
      // What the handler says (report, give-up) may fail on its own; the bookkeeping is kept regardless.
      const say = (what: string, fn: (() => void) | undefined) => {
        try {
          if (fn) store.transaction(fn);
        } catch (sayErr) {
          (isStoreError(sayErr) ? log.warn.bind(log) : log.error.bind(log))({ err: sayErr, jobId: job.id, kind: job.kind }, `job ${what} could not be said`);
        }
      };
      if (attempt >= max) {
        say('give-up', handler.giveUp && (() => handler.giveUp?.(job.payload, err)));
        store.finishJob(job.id);
        this.stats.gaveUp++;
        log.error({ jobId: job.id, kind: job.kind, attempt, err: err.message }, 'job gave up');
        return;
      }
      if (!job.reported) say('failure', handler.reportFailure && (() => handler.reportFailure?.(job.payload, err)));
      store.retryJob(job.id, clock.now() + delay, attempt, err.message, true);
      log.warn({ jobId: job.id, kind: job.kind, attempt, retryInMs: delay, err: err.message }, 'job failed; will retry');
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
  }
}
