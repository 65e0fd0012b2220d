/**
 * The composition root: reads the environment and the config, wires the real adapters, runs
 * until SIGTERM/SIGINT. Nothing else in the bot reads process.env or argv.
 */
import { readFileSync } from 'node:fs';
import { createApp, type App } from './app/app';
import { startHttp } from './ops/http';
import { loadConfig } from './config/load';
import { backoffDelay, sleep } from './core/async';
import { systemClock } from './core/clock';
import { createLogger, type Logger } from './core/log';
import { cronTicker } from './ops/cron';
import { StoreUnavailableError } from './store/errors';
import { faultFromFile } from './store/fault';
import { acquireStoreLock, StoreLockedError, type StoreLock } from './store/lock';
import { openSqliteStore } from './store/sqlite-store';
import type { Store } from './store/store';
import type { ZulipApi, ZulipUser } from './zulip/api';
import { createZulipJsApi } from './zulip/zulip-js-api';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const loaded = loadConfig({ argv, env, readFile: (p) => readFileSync(p, 'utf8') });
  if (!loaded.ok) {
    for (const line of loaded.errors) process.stderr.write(`config error: ${line}\n`);
    return 2;
  }
  const config = loaded.config;
  if (argv.includes('--check-config')) {
    // --- GitLab online check (issue 21): with --online, reach GitLab and name what is wrong. ---
    if (argv.includes('--online') && config.gitlab.url !== undefined) {
      const gl = require('./gitlab/client') as typeof import('./gitlab/client');
      const lines = await gl.checkGitlab(config);
      for (const line of lines) (gl.gitlabCheckFailed([line]) ? process.stderr : process.stdout).write(`${line}\n`);
      if (gl.gitlabCheckFailed(lines)) return 2;
    }
    // --- end GitLab online check ---
    process.stdout.write('config ok\n');
    return 0;
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

  // One bot per store (src/store/lock.ts): a second one would answer everything twice.
  let lock: StoreLock;
  try {
    lock = acquireStoreLock(config.store.path);
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
  try {
    // SRE_BOT_TEST_STORE_FAULT_FILE: tests only (src/store/fault.ts) — the store fails while that file exists.
    const faultFile = env.SRE_BOT_TEST_STORE_FAULT_FILE;
    store = openSqliteStore(config.store.path, {
      onCorrupt: (err) => die(`the store at ${config.store.path} is corrupt: ${err.reason.replace(/^the database file is corrupt: /, '')}`, { reason: err.reason, code: err.code, path: config.store.path }),
      ...(faultFile ? { fault: faultFromFile(faultFile) } : {}),
    });
  } catch (err) {
    process.stderr.write(`fatal: ${(err as Error).message}\n`);
    log.fatal({ err: (err as Error).message }, 'store unusable; refusing to run without memory');
    return 1;
  }
  const api = await createZulipJsApi({
    ...(config.zulip.site !== undefined ? { site: config.zulip.site } : {}),
    ...(config.zulip.email !== undefined ? { email: config.zulip.email } : {}),
    ...(config.zulip.apiKey !== undefined ? { apiKey: config.zulip.apiKey } : {}),
    ...(config.zulip.zuliprc !== undefined ? { zuliprc: config.zulip.zuliprc } : {}),
  });
  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      if (stop.signal.aborted) return;
      log.info({ signal: sig }, 'shutting down');
      stop.abort();
      resolve();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
  const me = await whoAmI(api, log, stop.signal);
  if (!me) {
    store.close();
    return 0;
  }
  let app: App | undefined;
  // Metrics (prom-client) and the Zabbix client (axios) are loaded only when configured: each is
  // a fair share of the bot's memory.
  const ops = config.http.port !== undefined ? (require('./ops/metrics') as typeof import('./ops/metrics')) : undefined;
  const metrics = ops
    ? new ops.Metrics({
        openIncidents: () => store.openSummaries(),
        outboxDepth: () => store.size(),
        registrations: () => app?.poller.status.registrations ?? 0,
        botStats: () => app?.pipeline.stats ?? { malformedAlerts: 0, commands: 0 },
        jobDepth: () => app?.jobs.depth ?? 0,
      })
    : undefined;
  const measured = <T extends object>(x: T, target: 'zulip' | 'zabbix'): T => (ops && metrics ? ops.instrument(x, target, metrics) : x);
  const zabbix =
    config.zabbix.url && config.zabbix.token
      ? measured(new (require('./zabbix/client') as typeof import('./zabbix/client')).ZabbixClient({ url: config.zabbix.url, token: config.zabbix.token }), 'zabbix')
      : undefined;
  // GitLab (issue 21): its client (@gitbeaker/rest) is loaded only when configured.
  const gitlab =
    config.gitlab.url && config.gitlab.token && config.gitlab.project !== undefined
      ? new (require('./gitlab/client') as typeof import('./gitlab/client')).GitlabClient({ url: config.gitlab.url, token: config.gitlab.token, project: config.gitlab.project })
      : undefined;
  if (gitlab && config.gitlab.webhookToken && config.http.port === undefined) log.warn('gitlab.webhookToken is set but http.port is not: the GitLab webhook is off (polling only)');
  app = createApp({
    config,
    api: measured(api, 'zulip'),
    store,
    me,
    log,
    clock: systemClock,
    ticker: cronTicker(),
    cron: (expr, tz) => cronTicker(expr, tz),
    ...(metrics ? { metrics } : {}),
    ...(zabbix ? { zabbix } : {}),
    ...(gitlab ? { gitlab } : {}),
  });
  const running = app;
  const http =
    config.http.port !== undefined
      ? await startHttp(config.http.port, {
          health: () => running.health(),
          metrics: async () => (metrics ? { contentType: metrics.contentType, body: await metrics.text() } : { contentType: 'text/plain', body: '' }),
          routes: running.httpRoutes,
        })
      : undefined;
  if (http) log.info({ port: http.port }, `http listening on port ${http.port} (/healthz, /metrics)`);
  await running.start(stop.signal);
  await stopped;
  const hardStop = setTimeout(() => {
    log.warn('shutdown took too long; exiting');
    process.exit(0);
  }, 4_500);
  hardStop.unref();
  await running.stop();
  await http?.close();
  store.close();
  lock.release();
  log.info('stopped');
  return 0;
}

/** The bot's own identity; retried with backoff until Zulip answers or shutdown. */
async function whoAmI(api: ZulipApi, log: Logger, signal: AbortSignal): Promise<ZulipUser | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      return await api.me();
    } catch (err) {
      const ms = backoffDelay(attempt, Math.random, 500, 30_000);
      log.warn({ err: (err as Error).message, retryInMs: ms }, 'cannot reach Zulip yet');
      await sleep(ms, signal);
    }
  }
  return undefined;
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
