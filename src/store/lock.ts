/**
 * One running bot per store: a lock file next to the database (`<store>.lock`), created
 * exclusively at start with the holder's pid, host and start time, and removed on a clean exit.
 * Two bots on one store would answer every command twice and post everything twice.
 *
 * A lock left behind by a bot that died (SIGKILL, power cut) is taken over when it is provably
 * stale: written on this host and its pid is not running (or is this very process — the same
 * pid after a container restart), or written before this host's last boot. A lock of another
 * host is never taken over: the message names it, to be removed by hand once that bot is gone.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder started. */
  startedAt: string;
  /** /proc/sys/kernel/random/boot_id of the holder's host (Linux), to see a lock from before a reboot. */
  bootId?: string;
}

export class StoreLockedError extends Error {
  constructor(
    readonly storePath: string,
    readonly holder: LockHolder | undefined,
    readonly lockPath: string,
  ) {
    super(
      holder
        ? `store ${storePath} is in use by pid ${holder.pid} on host ${holder.host} (started ${holder.startedAt}); ` +
            `only one bot may run on a store. If that process is gone, remove ${lockPath}`
        : `store ${storePath} is in use: its lock file ${lockPath} exists but cannot be read; if no bot runs on it, remove the lock file`,
    );
    this.name = 'StoreLockedError';
  }
}

export interface StoreLock {
  readonly lockPath: string;
  /** Removes the lock file (when it is still ours). Idempotent. */
  release(): void;
}

export interface LockOptions {
  pid?: number;
  host?: string;
  now?: () => number;
  /** Whether a process runs (default: signal 0). */
  isRunning?: (pid: number) => boolean;
  bootId?: () => string | undefined;
}

function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lockPath: string): { text: string; holder?: LockHolder } | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.startedAt === 'string') {
      return { text, holder: { pid: v.pid, host: v.host, startedAt: v.startedAt, ...(typeof v.bootId === 'string' ? { bootId: v.bootId } : {}) } };
    }
  } catch {
    // half-written or not ours: not taken over (the holder may be writing it right now)
  }
  return { text };
}

/**
 * Takes the lock of the store at `storePath`, or throws StoreLockedError naming the holder.
 * Other failures (an unwritable directory) throw as they are.
 */
export function acquireStoreLock(storePath: string, opts: LockOptions = {}): StoreLock {
  const absolute = resolve(storePath);
  const lockPath = `${absolute}.lock`;
  const me: LockHolder = {
    pid: opts.pid ?? process.pid,
    host: opts.host ?? hostname(),
    startedAt: new Date((opts.now ?? Date.now)()).toISOString(),
  };
  const bootId = (opts.bootId ?? currentBootId)();
  if (bootId) me.bootId = bootId;
  const isRunning = opts.isRunning ?? processRuns;
  const text = `${JSON.stringify(me)}\n`;

  const stale = (h: LockHolder): boolean =>
    h.host === me.host && (h.pid === me.pid || (h.bootId !== undefined && bootId !== undefined && h.bootId !== bootId) || !isRunning(h.pid));

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o644);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        lockPath,
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(lockPath, 'utf8') === text) unlinkSync(lockPath);
          } catch {
            // gone already
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const found = readHolder(lockPath);
    if (!found) continue; // removed meanwhile: try again
    if (!found.holder || !stale(found.holder)) throw new StoreLockedError(absolute, found.holder, lockPath);
    // Stale: move it aside (atomic), then make sure what was moved is the lock judged stale — a
    // bot starting at the same moment may have taken it over first; then its lock is put back.
    const aside = `${lockPath}.stale-${me.pid}`;
    try {
      renameSync(lockPath, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    let movedText = '';
    try {
      movedText = readFileSync(aside, 'utf8');
    } catch {
      // unreadable: treated as not the stale one
    }
    if (movedText !== found.text) {
      try {
        linkSync(aside, lockPath);
      } catch {
        // a third bot holds it now; it stays
      }
      unlinkSync(aside);
      throw new StoreLockedError(absolute, readHolder(lockPath)?.holder, lockPath);
    }
    unlinkSync(aside);
  }
  throw new StoreLockedError(absolute, readHolder(lockPath)?.holder, lockPath);
}
