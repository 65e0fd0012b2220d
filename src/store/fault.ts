/**
 * Test only: an injected store fault, to see what the bot does when its disk fills up (or the
 * file system turns read-only, or the file is corrupt) without a small file system and root.
 *
 * `openSqliteStore(path, { fault })` asks `fault()` before every statement: while it names a
 * kind, write statements (every statement for `corrupt`) fail with the SQLite error that kind
 * means, through the same translation as a real failure (src/store/errors.ts).
 *
 * Process level (the chaos suite, test/integration/store-safety.test.ts): src/main.ts passes
 * `faultFromFile(path)` when the environment sets SRE_BOT_TEST_STORE_FAULT_FILE=path: while that
 * file exists, the store fails with the kind written in it (empty: `full`). Never set it in
 * production.
 */
import { readFileSync, statSync } from 'node:fs';

export type StoreFaultKind = 'full' | 'ioerr' | 'readonly' | 'busy' | 'corrupt';
export type StoreFault = () => StoreFaultKind | undefined;

/** The SQLite error (code and message, as SQLite words it) each kind stands for. */
export const FAULT_ERRORS: Readonly<Record<StoreFaultKind, { code: string; message: string }>> = {
  full: { code: 'SQLITE_FULL', message: 'database or disk is full' },
  ioerr: { code: 'SQLITE_IOERR_WRITE', message: 'disk I/O error' },
  readonly: { code: 'SQLITE_READONLY', message: 'attempt to write a readonly database' },
  busy: { code: 'SQLITE_BUSY', message: 'database is locked' },
  corrupt: { code: 'SQLITE_CORRUPT', message: 'database disk image is malformed' },
};

const KINDS = new Set(Object.keys(FAULT_ERRORS));

/** A fault switched on and off by a window: `set(kind)` / `set(undefined)` (unit tests). */
export function manualFault(): StoreFault & { set(kind: StoreFaultKind | undefined): void } {
  let current: StoreFaultKind | undefined;
  const fault = (() => current) as StoreFault & { set(kind: StoreFaultKind | undefined): void };
  fault.set = (kind) => {
    current = kind;
  };
  return fault;
}

/** On while `path` exists; its content names the kind (empty or unknown: `full`). Looked at on every statement. */
export function faultFromFile(path: string): StoreFault {
  return () => {
    if (!statSync(path, { throwIfNoEntry: false })) return undefined;
    let text = '';
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch {
      // removed between the two calls, or unreadable: a fault all the same
    }
    return KINDS.has(text) ? (text as StoreFaultKind) : 'full';
  };
}
