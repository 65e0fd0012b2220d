/**
 * The composition root: reads the environment and the config, wires the real adapters, runs
 * until SIGTERM/SIGINT. Nothing else in the bot reads process.env or argv.
 */
import { readFileSync } from 'node:fs';
import { Bot } from './bot';
import { coreCommands } from './commands/core-commands';
import { incidentCommands } from './commands/incident-commands';
import { trackingCommands } from './commands/tracking-commands';
import { NonCriticalWorkflow } from './incidents/non-critical';
import { responderCommands } from './commands/responder-commands';
import { ResponderService } from './responders/service';
import { ZabbixClient } from './zabbix/client';
import { ZabbixSync } from './zabbix/sync';
import { CommandRegistry } from './commands/registry';
import { loadConfig } from './config/load';
import type { BotConfig } from './config/schema';
import { backoffDelay, sleep } from './core/async';
import { systemClock } from './core/clock';
import { createLogger, type Logger } from './core/log';
import { RateLimiter } from './core/rate-limiter';
import { IncidentLifecycle } from './incidents/lifecycle';
import type { Incident } from './incidents/model';
import { ReminderEngine } from './reminders/engine';
import { cronTicker } from './reminders/scheduler';
import { openSqliteStore } from './store/sqlite-store';
import type { Store } from './store/store';
import type { ZulipApi, ZulipUser } from './zulip/api';
import { EventPoller } from './zulip/event-poller';
import { OutboxSender } from './zulip/outbox-sender';
import { OutboxSpeaker } from './zulip/speaker';
import { StreamDirectory } from './zulip/stream-directory';
import { createZulipJsApi } from './zulip/zulip-js-api';

const CURSOR_KEY = 'zulip.lastMessageId';
const SHUTDOWN_FLUSH_MS = 3_000;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const loaded = loadConfig({ argv, env, readFile: (p) => readFileSync(p, 'utf8') });
  if (!loaded.ok) {
    for (const line of loaded.errors) process.stderr.write(`config error: ${line}\n`);
    return 2;
  }
  const config = loaded.config;
  if (argv.includes('--check-config')) {
    process.stdout.write('config ok\n');
    return 0;
  }
  const log = createLogger(config.log.level);
  let store: Store;
  try {
    store = openSqliteStore(config.store.path);
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
  const running = wire(config, api, store, me, log);
  await running.start(stop.signal);
  await stopped;
  const hardStop = setTimeout(() => {
    log.warn('shutdown took too long; exiting');
    process.exit(0);
  }, 4_500);
  hardStop.unref();
  await running.stop();
  store.close();
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

function wire(config: BotConfig, api: ZulipApi, store: Store, me: ZulipUser, log: Logger) {
  const clock = systemClock;
  const limiter = new RateLimiter(clock, config.rateLimit.perMinute);
  const sender = new OutboxSender({ outbox: store, api, clock, limiter, log });
  const speaker = new OutboxSpeaker(store, clock, () => sender.kick());
  const directory = new StreamDirectory(api);
  const commands = new CommandRegistry();
  const bot = new Bot({
    config,
    store,
    clock,
    log,
    speaker,
    commands,
    selfId: me.id,
    streamName: (id) => directory.name(id),
    learnStream: (id, name) => directory.learn(id, name),
  });
  const userNames = new Map<number, string>();
  const zabbix = config.zabbix.url && config.zabbix.token ? new ZabbixClient({ url: config.zabbix.url, token: config.zabbix.token }) : undefined;
  let sync: ZabbixSync | undefined;
  const lifecycle = new IncidentLifecycle({
    ...(zabbix ? { firing: (incidents: readonly Incident[]) => (sync ? sync.firing(incidents) : Promise.resolve(undefined)) } : {}),
    store,
    speaker,
    sla: config.sla,
    clock,
    log,
    userName: async (id) => {
      if (!userNames.has(id)) userNames.set(id, (await api.user(id)).fullName);
      return userNames.get(id);
    },
  });
  if (zabbix && config.zabbix.url) {
    sync = new ZabbixSync({ zabbix, store, speaker, lifecycle, config, clock, log, zabbixUrl: config.zabbix.url });
  }
  const nonCritical = new NonCriticalWorkflow({ store, speaker, config, clock, log });
  const responders = new ResponderService({ store, speaker, api, config, clock, log });
  commands.add(
    ...coreCommands({ registry: commands, incidents: store, sla: config.sla }),
    ...incidentCommands({
      lifecycle,
      ackListeners: [(acked, ctx, note) => sync?.acknowledgeFromChat(acked, ctx.message.senderName, note, ctx.reply)],
    }),
    ...trackingCommands(nonCritical),
    ...responderCommands(responders, config.timezone),
  );
  bot.alertListeners.push((e) => nonCritical.onAlert(e));
  bot.messageListeners.push((m) => nonCritical.onMessage(m));
  bot.alertListeners.push(({ outcome }) => {
    if (outcome.kind === 'opened') lifecycle.linkEarlierTopic(outcome.incident);
  });
  bot.topicMoveListeners.push((from, to, moved, by) => lifecycle.onTopicMove(from, to, moved, by));
  const reminders = new ReminderEngine({ store, speaker, sla: config.sla, log, timeZone: config.timezone, addressee: (ref, now) => responders.addressee(ref, now) });
  const ticker = cronTicker();
  const poller = new EventPoller({
    api,
    sink: bot,
    cursor: {
      get: () => {
        const v = store.getState(CURSOR_KEY);
        return v === undefined ? undefined : Number(v);
      },
      set: (id) => store.setState(CURSOR_KEY, String(id)),
    },
    streams: bot.streams,
    log,
    onLive: () => log.info('polling live'),
  });
  let polling: Promise<void> | undefined;
  return {
    async start(signal: AbortSignal): Promise<void> {
      log.info({ user: me.email, streams: bot.streams }, 'zulip-sre-bot starting');
      sender.start();
      polling = poller.run(signal);
      ticker.start(() => {
        // The scheduler's error boundary: a failed round is logged and tried again next second.
        try {
          const now = clock.now();
          responders.expireHandlers(now);
          reminders.tick(now);
          sync?.maybeRun(now);
        } catch (err) {
          log.error({ err }, 'reminder round failed');
        }
      });
    },
    async stop(): Promise<void> {
      await ticker.stop();
      await polling;
      await sender.stop(SHUTDOWN_FLUSH_MS);
    },
  };
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
