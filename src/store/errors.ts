/**
 * What a store failure means to the rest of the bot. SQLite's result codes are translated here
 * (src/store/sqlite-store.ts calls `translateSqliteError` on every failing statement, commit
 * included), so nothing above the store looks at SQLite codes:
 *
 * - `StoreUnavailableError`: the store cannot write (or read) right now — disk full, I/O error,
 *   read-only file system, locked past its busy timeout. Nothing was stored; the same work must
 *   be done again once the store works. Error boundaries never swallow it (src/pipeline/): it
 *   reaches the event poller, which stops intake and retries the message instead of skipping it.
 * - `StoreCorruptError`: the database file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB). Fatal:
 *   src/main.ts logs it and exits 1.
 */

/** A failure of the store itself (not of the code using it): never skipped, never swallowed. */
export abstract class StoreError extends Error {
  /** The SQLite result code, e.g. SQLITE_FULL. */
  abstract readonly code: string;
  /** One line for /healthz, logs and chat, e.g. "cannot write: database or disk is full". */
  abstract readonly reason: string;
}

export class StoreUnavailableError extends StoreError {
  readonly reason: string;
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`store: cannot write: ${detail}`);
    this.name = 'StoreUnavailableError';
    this.reason = `cannot write: ${detail}`;
  }
}

export class StoreCorruptError extends StoreError {
  readonly reason: string;
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`store: the database file is corrupt: ${detail}`);
    this.name = 'StoreCorruptError';
    this.reason = `the database file is corrupt: ${detail}`;
  }
}

export function isStoreError(err: unknown): err is StoreError {
  return err instanceof StoreError;
}

/**
 * Result codes (primary, or extended with the primary as prefix) meaning "the store cannot do
 * this now" — the disk, the file system, another process or memory — not a bug in a statement.
 */
const UNAVAILABLE = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_NOMEM', 'SQLITE_PROTOCOL', 'SQLITE_PERM', 'SQLITE_NOLFS'];
const CORRUPT = ['SQLITE_CORRUPT', 'SQLITE_NOTADB'];

const matches = (code: string, list: readonly string[]) => list.some((c) => code === c || code.startsWith(`${c}_`));

/** The store error an SQLite error means, or the error itself (a bug: constraint, SQL, misuse). */
export function translateSqliteError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const detail = (err as Error).message || code;
  if (matches(code, CORRUPT)) return new StoreCorruptError(code, detail);
  if (matches(code, UNAVAILABLE)) return new StoreUnavailableError(code, detail);
  return err;
}
