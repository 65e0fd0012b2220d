/**
 * Builds the bot from its parts. Takes every adapter as a parameter (src/main.ts passes the real
 * ones; tests pass fakes), so the whole bot can run in-process against a fake Zulip API.
 */
import { Bot } from '../pipeline/pipeline';
import { coreCommands } from '../features/incidents/core-commands';
import { incidentCommands } from '../features/incidents/commands';
import { CommandRegistry } from '../pipeline/commands';
import { responderCommands } from '../features/responders/commands';
import { helpCommands } from '../features/runbook/commands';
import { trackingCommands } from '../features/non-critical/commands';
import { reportCommands, reportWindow, slaReportText } from '../features/reports/commands';
import type { BotConfig } from '../config/schema';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { RateLimiter } from '../core/rate-limiter';
import { IncidentLifecycle } from '../features/incidents/lifecycle';
import type { Incident } from '../domain/incident';
import { NonCriticalWorkflow } from '../features/non-critical/workflow';
import { ReminderEngine } from '../features/reminders/engine';
import type { Ticker } from '../ops/cron';
import type { Metrics } from '../ops/metrics';
import { ResponderService } from '../features/responders/service';
import { RunbookAdvisor } from '../features/runbook/advisor';
import { RecheckService } from '../features/runbook/recheck';
import type { Store } from '../store/store';
import type { ZabbixApi } from '../zabbix/client';
import { ZabbixSync } from '../features/zabbix-sync/sync';
import type { ZulipApi, ZulipUser } from '../zulip/api';
import { EventPoller } from '../zulip/event-poller';
import { OutboxSender } from '../zulip/outbox-sender';
import { OutboxSpeaker } from '../zulip/speaker';
import { StreamDirectory } from '../zulip/stream-directory';

const CURSOR_KEY = 'zulip.lastMessageId';
const SHUTDOWN_FLUSH_MS = 3_000;

export interface AppDeps {
  config: BotConfig;
  api: ZulipApi;
  store: Store;
  /** The bot's own Zulip user. */
  me: ZulipUser;
  log: Logger;
  clock: Clock;
  ticker: Ticker;
  /** Makes a ticker for a cron expression in a time zone (the weekly SLA report). */
  cron?: (expression: string, timeZone: string) => Ticker;
  zabbix?: ZabbixApi;
  metrics?: Metrics;
}

export type App = ReturnType<typeof createApp>;

export function createApp({ config, api, store, me, log, clock, ticker, cron, zabbix, metrics }: AppDeps) {

  const limiter = new RateLimiter(clock, config.rateLimit.perMinute);
  const sender = new OutboxSender({ outbox: store, api, clock, limiter, log, selfEmail: me.email });
  const speaker = new OutboxSpeaker(store, clock, () => sender.kick());
  const directory = new StreamDirectory(api);
  const commands = new CommandRegistry();
  const cursor = {
    get: (): number | undefined => {
      const v = store.getState(CURSOR_KEY);
      return v === undefined ? undefined : Number(v);
    },
    set: (id: number): void => {
      // Never moves back (a command's marker and the poller may both set it).
      const cur = Number(store.getState(CURSOR_KEY) ?? -1);
      if (id > cur) store.setState(CURSOR_KEY, String(id));
    },
  };
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
    markHandled: (id) => cursor.set(id),
  });
  const userNames = new Map<number, string>();
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
  const runbook = new RunbookAdvisor({ store, speaker, config, clock, log });
  const recheck = new RecheckService({ ...(zabbix && config.zabbix.url ? { zabbix } : {}), store, clock, log, waitMs: config.runbook.recheck.wait });
  commands.add(
    ...coreCommands({ registry: commands, incidents: store, sla: config.sla }),
    ...incidentCommands({
      lifecycle,
      ackListeners: [
        (acked, ctx) => {
          for (const i of acked) metrics?.timeToAck.observe({ class: i.incidentClass }, Math.max(0, (ctx.now - i.openedAt) / 1000));
        },
        (acked, ctx, note) => sync?.acknowledgeFromChat(acked, ctx.message.senderName, note, ctx.reply),
      ],
    }),
    ...trackingCommands(nonCritical),
    ...responderCommands(responders, config.timezone),
    ...reportCommands({ lifecycle, store, speaker, api, config, streamName: (id) => directory.name(id), selfEmail: me.email }),
  );
  commands.add(...helpCommands({ recheck }));
  bot.alertListeners.push((e) => nonCritical.onAlert(e));
  // Before linkEarlierTopic: the hint and client prompt are the first thing the bot says in a new topic.
  bot.alertListeners.push((e) => runbook.onAlert(e));
  bot.alertListeners.push(({ alert, outcome }) => metrics?.alerts.inc({ class: alert.incidentClass, outcome: outcome.kind }));
  bot.messageListeners.push((m) => nonCritical.onMessage(m));
  bot.alertListeners.push(({ outcome }) => {
    if (outcome.kind === 'opened') lifecycle.linkEarlierTopic(outcome.incident);
  });
  bot.topicMoveListeners.push((from, to, moved, by) => lifecycle.onTopicMove(from, to, moved, by));
  bot.topicMoveListeners.push((from, to) => runbook.onTopicMove(from, to));
  const reminders = new ReminderEngine({ store, speaker, sla: config.sla, log, timeZone: config.timezone, addressee: (ref, now) => responders.addressee(ref, now) });
  const poller = new EventPoller({
    api,
    sink: bot,
    cursor,
    streams: bot.streams,
    log,
    onLive: () => log.info('polling live'),
  });
  /** One scheduler round, inside its error boundary: a failed round is logged and tried again next second. */
  function tick(now: number): void {
    try {
      responders.expireHandlers(now);
      const round = reminders.tick(now);
      metrics?.reminders.inc(round.reminders);
      metrics?.warnings.inc(round.warnings);
      metrics?.breaches.inc(round.breaches);
      sync?.maybeRun(now);
      runbook.tick(now);
    } catch (err) {
      log.error({ err }, 'scheduler round failed');
    }
  }
  const weekly = cron?.(config.reports.weeklyCron, config.timezone);
  /** What /healthz says: the Zulip queue alive and polled recently, the store writable, the Zabbix sync state. */
  function health(): { ok: boolean; [k: string]: unknown } {
    const now = clock.now();
    const s = poller.status;
    const pollAgeSeconds = s.lastPollAt === undefined ? undefined : Math.round((now - s.lastPollAt) / 1000);
    const zulipOk = s.queueId !== undefined && pollAgeSeconds !== undefined && pollAgeSeconds < 180;
    let storeOk = true;
    try {
      store.setState('health.checkedAt', String(now));
    } catch {
      storeOk = false;
    }
    return {
      ok: zulipOk && storeOk,
      zulip: { ok: zulipOk, queueId: s.queueId ?? null, pollAgeSeconds: pollAgeSeconds ?? null, registrations: s.registrations, consecutiveFailures: s.consecutiveFailures },
      store: { ok: storeOk, outboxDepth: store.size() },
      zabbix: sync ? { configured: true, failing: sync.failing, lastOkAt: sync.lastOkAt ?? null, lastError: sync.lastError ?? null } : { configured: false },
    };
  }
  let polling: Promise<void> | undefined;
  return {
    bot,
    commands,
    sender,
    reminders,
    get sync() {
      return sync;
    },
    poller,
    tick,
    health,
    async start(signal: AbortSignal): Promise<void> {
      log.info({ user: me.email, streams: bot.streams }, 'zulip-sre-bot starting');
      sender.start();
      polling = poller.run(signal);
      ticker.start(() => tick(clock.now()));
      weekly?.start(() => {
        try {
          const w = reportWindow('week', clock.now());
          if (w) speaker.say(config.streams.general, config.reports.topic, slaReportText(store, config.timezone, w));
        } catch (err) {
          log.error({ err }, 'weekly SLA report failed');
        }
      });
    },
    async stop(): Promise<void> {
      await ticker.stop();
      await weekly?.stop();
      await polling;
      await sender.stop(SHUTDOWN_FLUSH_MS);
    },
  };
}

