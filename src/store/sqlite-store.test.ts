import { writeFileSync } from 'node:fs';
import { openSqliteStore, StoreOpenError } from './sqlite-store';
import { describeStore } from '../../test/support/store-contract';
import { tempDbPath } from '../../test/support/temp';

const tmp = () => tempDbPath('sre-bot-store-');

// What every store must do (test/support/store-contract.ts), on SQLite; postgres-store.test.ts runs it on PostgreSQL.
describeStore('SQLite', () => {
  const path = tmp();
  return { open: (opts = {}) => openSqliteStore(path, opts) };
});

describe('SQLite store', () => {
  test('a corrupt file is refused with a clear error', () => {
    const path = tmp();
    writeFileSync(path, 'this is not a database '.repeat(200));
    expect(() => openSqliteStore(path)).toThrow(StoreOpenError);
    expect(() => openSqliteStore(path)).toThrow(/cannot open the store at .*bot\.db/);
  });

  test('an unwritable location is refused with a clear error', () => {
    expect(() => openSqliteStore('/proc/no-such-dir/bot.db')).toThrow(/cannot open the store/);
  });
});
