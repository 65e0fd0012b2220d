/**
 * The composition root: reads the command line, the environment and the config, wires the real
 * adapters, runs until SIGTERM/SIGINT. Nothing else in the bot reads process.env or argv.
 *
 * Exit codes (README, "Exit codes"): 0 stopped by a signal (or --help, --version, a valid
 * --check-config); 1 a fault at run time (the store unusable, an unexpected error); 2 something
 * to fix before it can run (the command line, the config, the zuliprc, credentials Zulip refuses,
 * a configured stream that does not exist, the store in use by another bot, a failed online check).
 */

// Signals from the first line: a SIGTERM while the modules load or the bot waits for Zulip (a
// container stopped at start; as PID 1 nothing else would act on it) stops it at once, exit 0.
const stopper = new AbortController();
if (require.main === module) {
  process.once('SIGTERM', () => stopper.abort('SIGTERM'));
  process.once('SIGINT', () => stopper.abort('SIGINT'));
}

import { existsSync, readFileSync } from 'node:fs';
import { createApp, type App } from './app/app';
import { packageVersion, parseCli, USAGE } from './app/cli';
import { checkZabbixOnline, checkZulipOnline, credentialsRefused, formatCheck, matchStreams, type CheckLine } from './app/preflight';
import type { BotConfig } from './config/schema';
import { startHttp, type Health } from './ops/http';
import { loadConfig } from './config/load';
import { backoffDelay, sleep } from './core/async';
import { systemClock } from './core/clock';
import { createLogger, type Logger } from './core/log';
import { cronTicker } from './ops/cron';
import { StoreUnavailableError } from './store/errors';
import { faultFromFile } from './store/fault';
import { acquireStoreLock, StoreLockedError, type StoreLock } from './store/lock';
import { HaController } from './app/ha';
import { openSqliteStore } from './store/sqlite-store';
import type { Store } from './store/store';
import type { ZulipApi } from './zulip/api';
import { createZulipJsApi } from './zulip/zulip-js-api';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, signal: AbortSignal = stopper.signal): Promise<number> {
  const cli = parseCli(argv);
  if (cli.action === 'error') {
    process.stderr.write(`error: ${cli.message}\n`);
    return 2;
  }
  if (cli.action === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cli.action === 'version') {
    process.stdout.write(`zulip-sre-bot ${packageVersion()}\n`);
    return 0;
  }
  if (cli.action === 'migrate') return migrate(cli.from, cli.to);
  const loaded = loadConfig({
    argv: [],
    ...(cli.config !== undefined ? { path: cli.config } : {}),
    env,
    readFile: (p) => readFileSync(p, 'utf8'),
    files: { readFile: (p) => readFileSync(p, 'utf8'), exists: existsSync, home: env.HOME || undefined, cwd: process.cwd() },
  });
  if (!loaded.ok) {
    for (const line of loaded.errors) process.stderr.write(`config error: ${line}\n`);
    return 2;
  }
  const config = loaded.config;
  // loadConfig resolved these (src/config/zuliprc.ts): from the config, the environment or a zuliprc.
  const site = config.zulip.site as string;
  const email = config.zulip.email as string;
  const zulipCreds = {
    site,
    email,
    apiKey: config.zulip.apiKey as string,
    ...(config.zulip.insecure ? { insecure: true } : {}),
    ...(config.zulip.certBundle !== undefined ? { certBundle: config.zulip.certBundle } : {}),
  };
  if (cli.action === 'check-config') {
    if (!cli.online) {
      process.stdout.write('config ok\n');
      return 0;
    }
    return checkOnline(config, cli.config ?? '', zulipCreds);
  }
  const log = createLogger(config.log.level, undefined, process.stdout.isTTY === true && env.LOG_FORMAT !== 'json');
  /** One line on stderr, one structured fatal log line, exit 1 (the lock is released on exit). */
  const die = (message: string, fields: Record<string, unknown>): never => {
    process.stderr.write(`fatal: ${message}\n`);
    log.fatal(fields, message);
    process.exit(1);
  };
  // Nothing escapes as a raw stack: a store that cannot write fails background work, which is
  // tried again later (the store watch reports the outage); anything else is fatal.
  process.on('unhandledRejection', (reason: unknown) => {
    if (reason instanceof StoreUnavailableError) {
      log.warn({ err: reason.message }, 'background work failed: the store cannot write; it is tried again later');
      return;
    }
    die(`unexpected error: ${(reason as Error)?.message ?? String(reason)}`, { err: reason });
  });
  process.on('uncaughtException', (err) => die(`unexpected error: ${err.message}`, { err }));

  // One bot per store (src/store/lock.ts): a second one would answer everything twice. On
  // PostgreSQL (store.url) the lease does that instead: every instance runs, one leads (src/app/ha.ts).
  let lock: StoreLock;
  try {
    lock = config.store.url ? { lockPath: '', release: () => undefined } : acquireStoreLock(config.store.path);
  } catch (err) {
    if (err instanceof StoreLockedError) {
      process.stderr.write(`fatal: ${err.message}\n`);
      log.fatal({ store: err.storePath, holder: err.holder ?? null, lockFile: err.lockPath }, err.message);
      return 2;
    }
    process.stderr.write(`fatal: cannot lock the store at ${config.store.path}: ${(err as Error).message}\n`);
    log.fatal({ err: (err as Error).message }, 'cannot lock the store; refusing to run');
    return 1;
  }
  process.once('exit', () => lock.release());
  let store: Store;
  let ha: HaController | undefined;
  try {
    // SRE_BOT_TEST_STORE_FAULT_FILE: tests only (src/store/fault.ts) — the store fails while that file exists.
    const faultFile = env.SRE_BOT_TEST_STORE_FAULT_FILE;
    if (config.store.url) {
      // PostgreSQL (issue 22): pg-native (libpq) is loaded only when configured.
      const pg = loadPostgres();
      const url = config.store.url;
      const pgStore = pg.openPostgresStore(url, {
        onCorrupt: (err) => die(`the store at ${pg.redactUrl(url)} is corrupt: ${err.reason}`, { reason: err.reason, code: err.code }),
        onFenced: () => die('another instance took the lease over: this instance stops (it may no longer write)', { store: pg.redactUrl(url) }),
        ...(faultFile ? { fault: faultFromFile(faultFile) } : {}),
      });
      store = pgStore;
      ha = new HaController(pgStore, { failoverMs: config.ha.failover, log });
    } else {
      store = openSqliteStore(config.store.path, {
        onCorrupt: (err) => die(`the store at ${config.store.path} is corrupt: ${err.reason.replace(/^the database file is corrupt: /, '')}`, { reason: err.reason, code: err.code, path: config.store.path }),
        ...(faultFile ? { fault: faultFromFile(faultFile) } : {}),
      });
    }
  } catch (err) {
    process.stderr.write(`fatal: ${(err as Error).message}\n`);
    log.fatal({ err: (err as Error).message }, 'store unusable; refusing to run without memory');
    return 1;
  }

  let app: App | undefined;
  // What /healthz says until the app runs: starting (and what it waits for), or what stops it.
  let startup: { status: 'starting' | 'failed' | 'standby'; reason: string } = { status: 'starting', reason: 'connecting to Zulip' };
  // Metrics (prom-client) and the Zabbix client (axios) are loaded only when configured: each is
  // a fair share of the bot's memory.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured (memory)
  const ops = config.http.port !== undefined ? (require('./ops/metrics') as typeof import('./ops/metrics')) : undefined;
  const metrics = ops
    ? new ops.Metrics({
        openIncidents: () => store.openSummaries(),
        outboxDepth: () => store.size(),
        registrations: () => app?.poller.status.registrations ?? 0,
        botStats: () => app?.pipeline.stats ?? { malformedAlerts: 0, commands: 0 },
        jobDepth: () => app?.jobs.depth ?? 0,
        lastPollAt: () => app?.poller.status.lastPollAt,
        ...(config.zabbix.url && config.zabbix.token
          ? { zabbixSync: () => ({ up: app?.sync ? app.sync.lastError === undefined && !app.sync.failing : true, lastOkAt: app?.sync?.lastOkAt }) }
          : {}),
        build: { version: packageVersion(), node: process.version },
        ...(ha ? { ha: () => ({ leader: ha?.leader ?? false, takeovers: ha?.takeovers ?? 0 }) } : {}),
      })
    : undefined;
  // /healthz and /metrics from the first moment: before Zulip is asked anything.
  const health = (): Health => {
    // A hot standby (store.url) is healthy: it waits for the lease, ready to take over.
    if (!app && ha && startup.status === 'standby') return { ok: true, status: 'standby', ha: ha.status() };
    if (!app) return { ok: false, status: startup.status, reason: startup.reason, ...(ha ? { ha: ha.status() } : {}) };
    const h = app.health();
    return { ...h, status: h.ok ? 'live' : app.poller.status.lastPollAt === undefined ? 'starting' : 'unhealthy', ...(ha ? { ha: ha.status() } : {}) };
  };
  let http: { port: number; close: () => Promise<void> } | undefined;
  if (config.http.port !== undefined) {
    try {
      http = await startHttp(config.http.port, {
        health,
        metrics: async () => (metrics ? { contentType: metrics.contentType, body: await metrics.text() } : { contentType: 'text/plain', body: '' }),
        get routes() {
          return app?.httpRoutes;
        },
      });
    } catch (err) {
      process.stderr.write(`fatal: cannot serve /healthz on http.port ${config.http.port}: ${(err as Error).message}\n`);
      log.fatal({ err: (err as Error).message, port: config.http.port }, 'cannot listen on http.port');
      store.close();
      lock.release();
      return 1;
    }
    log.info({ port: http.port }, `http listening on port ${http.port} (/healthz, /metrics)`);
  }
  /** Stops before running: says why (stderr and the log), closes what is open. */
  const refuse = async (lines: string[], fields: Record<string, unknown>): Promise<number> => {
    startup = { status: 'failed', reason: lines.join('; ') };
    for (const line of lines) process.stderr.write(`fatal: ${line}\n`);
    log.fatal(fields, lines.join('; '));
    await http?.close();
    store.close();
    lock.release();
    return 2;
  };
  const quit = async (): Promise<number> => {
    log.info({ signal: String(signal.reason ?? '') }, 'stopped during start-up');
    ha?.release();
    await http?.close();
    store.close();
    lock.release();
    return 0;
  };

  const api = await createZulipJsApi(zulipCreds);
  // Who the bot is: a refusal of the credentials stops the start (exit 2); an outage is waited out.
  const refused = (err: unknown) => credentialsRefused(err, site, email);
  const waiting = (reason: string) => (startup = { status: 'starting', reason });
  const me = await untilAnswered(() => api.me(), refused, log, signal, 'cannot reach Zulip yet', waiting);
  if (me === undefined) return quit();
  if ('refused' in me) return refuse([me.refused], { site, email });
  // The configured streams must exist: a post to a missing one would be dropped by Zulip.
  const listed = await untilAnswered(() => api.streams(), refused, log, signal, 'cannot list the streams yet', waiting);
  if (listed === undefined) return quit();
  if ('refused' in listed) return refuse([listed.refused], { site, email });
  const missing = matchStreams(config, listed.value.map((s) => s.name), site).filter((s) => !s.ok);
  if (missing.length > 0) return refuse(missing.map((s) => `${s.key}: ${s.detail}`), { missing: missing.map((s) => s.name) });
  if (ha) {
    // A hot standby until this instance holds the lease; then the leader until it loses it (exit 1, restarted as a standby).
    startup = { status: 'standby', reason: 'waiting for the lease' };
    if (!(await ha.waitForLease(signal))) return quit();
    ha.keep((reason) => die(`lost the lease: ${reason}; this instance stops (a supervisor restarts it as a standby)`, { reason }));
  }
  startup = { status: 'starting', reason: 'catching up with Zulip' };

  const measured = <T extends object>(x: T, target: 'zulip' | 'zabbix'): T => (ops && metrics ? ops.instrument(x, target, metrics) : x);
  const zabbix =
    config.zabbix.url && config.zabbix.token
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured (memory)
      ? measured(new (require('./zabbix/client') as typeof import('./zabbix/client')).ZabbixClient({ url: config.zabbix.url, token: config.zabbix.token }), 'zabbix')
      : undefined;
  // GitLab (issue 21): its client (@gitbeaker/rest) is loaded only when configured.
  const gitlab =
    config.gitlab.url && config.gitlab.token && config.gitlab.project !== undefined
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured (memory)
      ? new (require('./gitlab/client') as typeof import('./gitlab/client')).GitlabClient({ url: config.gitlab.url, token: config.gitlab.token, project: config.gitlab.project })
      : undefined;
  if (gitlab && config.gitlab.webhookToken && config.http.port === undefined) log.warn('gitlab.webhookToken is set but http.port is not: the GitLab webhook is off (polling only)');
  app = createApp({
    config,
    api: measured(api, 'zulip'),
    store,
    me: me.value,
    log,
    clock: systemClock,
    ticker: cronTicker(),
    cron: (expr, tz) => cronTicker(expr, tz),
    ...(metrics ? { metrics } : {}),
    ...(zabbix ? { zabbix } : {}),
    ...(gitlab ? { gitlab } : {}),
  });
  const running = app;
  await running.start(signal);
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  log.info({ signal: String(signal.reason ?? '') }, 'shutting down');
  const hardStop = setTimeout(() => {
    log.warn('shutdown took too long; exiting');
    process.exit(0);
  }, 4_500);
  hardStop.unref();
  await running.stop();
  await http?.close();
  ha?.release();
  store.close();
  lock.release();
  log.info('stopped');
  return 0;
}

/** `migrate --from sqlite:PATH --to postgres://…` (src/store/migrate.ts): one line per table copied; exit 0, or 1 with why. */
function migrate(from: string, to: string): number {
  try {
    loadPostgres();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only for this command (libpq)
    const { migrateSqliteToPostgres } = require('./store/migrate') as typeof import('./store/migrate');
    const counts = migrateSqliteToPostgres(from, to);
    for (const [table, n] of counts) process.stdout.write(`${table}: ${n} rows\n`);
    process.stdout.write(`migrated ${from} to ${to.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')}; start the bots with store.url (DATABASE_URL) set to it\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`fatal: migrate: ${((err as Error).message ?? String(err)).trim()}\n`);
    return 1;
  }
}

/** The PostgreSQL store's module (pg-native, an optional dependency): a clear error when it cannot load. */
function loadPostgres(): typeof import('./store/postgres-store') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured (libpq)
    return require('./store/postgres-store') as typeof import('./store/postgres-store');
  } catch (err) {
    throw new Error(`store.url needs pg-native, which did not load (${(err as Error).message.split('\n')[0]}): install libpq-dev (apt-get install libpq-dev) and run npm ci again`, { cause: err });
  }
}

/**
 * Calls Zulip until it answers: an outage (network, timeout, 5xx, rate limit) is retried with
 * backoff and said in the log and /healthz; a refusal of the credentials is returned at once.
 * Undefined when a signal stops the wait.
 */
async function untilAnswered<T>(
  call: () => Promise<T>,
  refusedFor: (err: unknown) => string | undefined,
  log: Logger,
  signal: AbortSignal,
  what: string,
  waiting: (reason: string) => void,
): Promise<{ value: T } | { refused: string } | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      return { value: await call() };
    } catch (err) {
      const refused = refusedFor(err);
      if (refused !== undefined) return { refused };
      const ms = backoffDelay(attempt, Math.random, 500, 30_000);
      log.warn({ err: (err as Error).message, retryInMs: ms }, what);
      waiting(`${what}: ${(err as Error).message}`);
      await sleep(ms, signal);
    }
  }
  return undefined;
}

/**
 * `--check-config --online`: one line per check (✓/✗), exit 2 when one fails. Zulip (login,
 * each configured stream exists and can be read), then Zabbix and GitLab when configured.
 */
async function checkOnline(config: BotConfig, configPath: string, creds: Parameters<typeof createZulipJsApi>[0] & { site: string; email: string }): Promise<number> {
  const lines: CheckLine[] = [{ ok: true, text: `config: ${configPath} is valid` }];
  const api: ZulipApi = await createZulipJsApi(creds);
  lines.push(...(await checkZulipOnline(api, config, creds.site, creds.email)));
  if (config.zabbix.url && config.zabbix.token) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured (memory)
    const { ZabbixClient } = require('./zabbix/client') as typeof import('./zabbix/client');
    lines.push(...(await checkZabbixOnline(new ZabbixClient({ url: config.zabbix.url, token: config.zabbix.token, retries: 0, timeoutMs: 10_000 }), config.zabbix.url)));
  }
  // --- GitLab online check (issue 21): reach GitLab and name what is wrong. ---
  if (config.gitlab.url !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured (memory)
    const gl = require('./gitlab/client') as typeof import('./gitlab/client');
    for (const line of await gl.checkGitlab(config)) lines.push({ ok: !gl.gitlabCheckFailed([line]), text: line });
  }
  // --- end GitLab online check ---
  for (const line of lines) process.stdout.write(`${formatCheck(line)}\n`);
  const failed = lines.filter((l) => !l.ok).length;
  if (failed === 0) {
    process.stdout.write('config ok (online checks passed)\n');
    return 0;
  }
  process.stderr.write(`config error: ${failed} of ${lines.length} online checks failed\n`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
