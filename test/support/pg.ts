/**
 * PostgreSQL for tests (issue 22): the database `TEST_DATABASE_URL` names (scripts/postgres-up.sh
 * starts one; `npm run test:e2e` and .ci/run set it). Each test gets a schema of its own in it
 * (`freshSchemaUrl`), dropped after the test file's tests, so files and runs do not meet.
 */
import { randomBytes } from 'node:crypto';
import { openPgSession } from '../../src/store/postgres-store';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

const made: string[] = [];

if (typeof afterAll === 'function') {
  afterAll(() => {
    if (made.length === 0 || !TEST_DATABASE_URL) return;
    const admin = openPgSession(TEST_DATABASE_URL, 'zulip-sre-bot tests');
    try {
      for (const schema of made.splice(0)) admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      admin.close();
    }
  });
}

/** `url` with the schema first on its search path (libpq's `options`). */
export function urlWithSchema(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** A new empty schema in the test database; the URL that uses it. Dropped after the file's tests unless `keep`. */
export function freshSchemaUrl(prefix = 't', keep = false): { url: string; schema: string } {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set (scripts/postgres-up.sh starts a PostgreSQL for tests)');
  const schema = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = openPgSession(TEST_DATABASE_URL, 'zulip-sre-bot tests');
  try {
    admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    admin.close();
  }
  if (!keep) made.push(schema);
  return { url: urlWithSchema(TEST_DATABASE_URL, schema), schema };
}
