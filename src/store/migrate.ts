/**
 * `zulip-sre-bot migrate --from sqlite:PATH --to postgres://…` (issue 22): copies a deployment's
 * state from its SQLite file into an empty PostgreSQL database — incidents and their history,
 * the position in Zulip, the outbox, jobs, handovers, handlers, GitLab links, cards. The SQLite
 * side is read in one read transaction (consistent while its bot runs); the PostgreSQL side is
 * written in one transaction. Stop the SQLite bot before starting the PostgreSQL ones: the copy
 * is a snapshot, and what the old bot does afterwards is not copied.
 */
import { copyIntoPostgres, PG_TABLES } from './postgres-store';
import { readSqliteTables } from './sqlite-store';

export function migrateSqliteToPostgres(sqlitePath: string, url: string): Map<string, number> {
  const data = readSqliteTables(sqlitePath, PG_TABLES.map((t) => t.name));
  return copyIntoPostgres(url, data);
}
