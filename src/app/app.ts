/**
 * The container: builds the adapters' helpers and the features' services, lists the modules in
 * their order, and hands them to the pipeline. Takes every adapter as a parameter (src/main.ts
 * passes the real ones; tests pass fakes), so the whole bot can run in-process.
 */
import { createHash } from 'node:crypto';
import type { BotConfig } from '../config/schema';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { RateLimiter } from '../core/rate-limiter';
import { helpModule } from '../features/help/module';
import { IMPORT_JOB, RECONCILE_JOB, reconcileOnce, type HistoryDeps } from '../features/incidents/history';
import { createIntake } from '../features/incidents/intake';
import { IncidentLifecycle } from '../features/incidents/lifecycle';
import { incidentsModule } from '../features/incidents/module';
import { metricsModule } from '../features/metrics/module';
import { nonCriticalModule } from '../features/non-critical/module';
import { NonCriticalWorkflow } from '../features/non-critical/workflow';
import { ReminderEngine } from '../features/reminders/engine';
import { remindersModule } from '../features/reminders/module';
import { reportsModule } from '../features/reports/module';
import { respondersModule } from '../features/responders/module';
import { ResponderService } from '../features/responders/service';
import { Areas, HostGroupCache } from '../features/responders/areas';
import { PeopleDirectory } from '../features/responders/people';
import { zabbixHandoverJob } from '../features/responders/zabbix-handover';
import { escalationSteps } from '../features/reminders/escalation';
import { RunbookAdvisor } from '../features/runbook/advisor';
import { runbookModule } from '../features/runbook/module';
import { RecheckService } from '../features/runbook/recheck';
import { zabbixSyncModule } from '../features/zabbix-sync/module';
import { StatusCards, statusCardModule } from '../features/status-card/module';
import { ZabbixSync } from '../features/zabbix-sync/sync';
import { gitlabModule } from '../features/gitlab/module';
import { GitlabService } from '../features/gitlab/service';
import type { GitlabApi } from '../gitlab/api';
import type { HttpRoute } from '../ops/http';
import type { Ticker } from '../ops/cron';
import type { Metrics } from '../ops/metrics';
import { JobRunner, type JobHandler, type JobQueue } from '../pipeline/jobs';
import type { BotModule } from '../pipeline/module';
import { Pipeline } from '../pipeline/pipeline';
import type { Store } from '../store/store';
import { backAgainAfterRestart, StoreWatch } from '../store/watch';
import type { ZabbixApi } from '../zabbix/client';
import { parseAlert } from '../zabbix/parse-alert';
import type { IncidentChange } from '../domain/incident';
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
  /** The scheduler's one-second tick. */
  ticker: Ticker;
  /** Makes a ticker for a cron expression in a time zone (the modules' cron jobs). */
  cron?: (expression: string, timeZone: string) => Ticker;
  zabbix?: ZabbixApi;
  /** The GitLab adapter (issue tracking); used when `gitlab.url` is configured. */
  gitlab?: GitlabApi;
  metrics?: Metrics;
  /** Tests only: changes the module list before the pipeline is built (e.g. inserts a failing module). */
  modules?: (list: BotModule[]) => BotModule[];
}

export type App = ReturnType<typeof createApp>;

export function createApp({ config, api, store, me, log, clock, ticker, cron, zabbix, gitlab, metrics, modules: adjust }: AppDeps) {
  // Adapters' helpers: the outbox and its sender, stream names, the bot's position.
  const limiter = new RateLimiter(clock, config.rateLimit.perMinute);
  const sender = new OutboxSender({ outbox: store, api, clock, limiter, log, selfEmail: me.email, cards: store, editWindowMs: config.zulip.editWindow });
  const speaker = new OutboxSpeaker(store, clock, () => sender.kick());
  const directory = new StreamDirectory(api);
  const streamName = (id: number) => directory.name(id);
  const cursor = {
    get: (): number | undefined => {
      const v = store.getState(CURSOR_KEY);
      return v === undefined ? undefined : Number(v);
    },
    set: (id: number): void => {
      // Never moves back (a command's commit and the poller may both set it).
      store.raiseState(CURSOR_KEY, id);
    },
  };
  // The job runner is built once the modules have declared their jobs; services queue through this.
  let runner: JobRunner | undefined;
  const jobs: JobQueue = { enqueue: (kind, payload) => (runner as JobRunner).enqueue(kind, payload) };
  const tz = config.timezone;
  const s = config.streams;
  const sreStreams = [s.critical, s.nonCritical, s.informational, s.general];
  const zabbixOn = zabbix !== undefined && config.zabbix.url !== undefined;

  // The features' services.
  // Zulip users by id (names for the history, whether a reacting user is a bot), cached.
  const usersById = new Map<number, ZulipUser>();
  const userOf = async (id: number): Promise<ZulipUser> => {
    let u = usersById.get(id);
    if (!u) usersById.set(id, (u = await api.user(id)));
    return u;
  };
  let sync: ZabbixSync | undefined;
  // Runbook advice and storms (issue 17): topics' first messages (advice, checklists, earlier-topic
  // links) go through `firstMessage`, which folds a storm's into its one summary.
  const advisor = new RunbookAdvisor({ store, speaker, config, clock, log, wakeAt: (at) => sender.wakeAt(at) });
  const firstMessage = (m: Parameters<RunbookAdvisor['firstMessage']>[0]) => advisor.firstMessage(m);
  const lifecycle = new IncidentLifecycle({
    ...(zabbixOn ? { firing: (incidents) => (sync ? sync.firing(incidents) : Promise.resolve(undefined)) } : {}),
    store,
    speaker,
    sla: config.sla,
    clock,
    log,
    jobs,
    ...(config.zulip.resolveTopics ? { renameTopic: (messageId: number, topic: string) => api.renameTopic(messageId, topic) } : {}),
    pendingFor: (stream, topic) => store.pendingFor(stream, topic),
    userName: async (id) => (await userOf(id)).fullName,
    firstMessage,
  });
  // What happens outside a command (a reaction's job, the Zabbix sync) is told to the modules through the pipeline, built below.
  const publish = (change: IncidentChange) => pipeline.emit(change);
  if (zabbix && config.zabbix.url) sync = new ZabbixSync({ zabbix, store, speaker, lifecycle, config, clock, log, zabbixUrl: config.zabbix.url, publish, cardShowsState: config.statusCard.enabled });
  // Ownership (issue 19): areas (host groups cached off the message path), the people mentions
  // need, who an incident's reminders go to, escalation, the Zabbix side of a handover.
  const hostGroups = zabbixOn && zabbix?.hostGroups && config.areas.some((a) => a.hostGroups.length > 0) ? new HostGroupCache({ zabbix, store, log, refreshEvery: Math.min(config.zabbix.syncEvery, 30_000) }) : undefined;
  const people = new PeopleDirectory(api, log);
  // The people cache is read for escalation.people mentions and Zabbix acknowledgements mapped by zabbix.users.
  const esc = config.escalation;
  const peopleNeeded = [esc.people, esc.critical.then?.people, esc.nonCritical.then?.people, esc.informational.then?.people].some((p) => (p ?? []).length > 0) || Object.keys(config.zabbix.users).length > 0;
  const zabbixHandover = zabbixOn && zabbix !== undefined && config.zabbix.firstResponder !== undefined;
  const responders = new ResponderService({
    store,
    speaker,
    api,
    config,
    clock,
    log,
    areas: new Areas(config.areas, hostGroups?.get),
    people,
    jobs,
    selfId: me.id,
    zabbixHandover,
  });
  const reminders = new ReminderEngine({
    store,
    speaker,
    sla: config.sla,
    log,
    timeZone: tz,
    addressee: (incident, now) => responders.addressee(incident, now),
    escalation: { stepsOf: (i) => escalationSteps(config.escalation, i.incidentClass), mentionOf: people.mentionOf },
    holdTopic: (ref) => advisor.holding(ref),
  });
  const reportDeps = { store, speaker, api, config, selfEmail: me.email };
  // GitLab tracking (src/features/gitlab/): off unless configured.
  const gitlabService =
    gitlab && config.gitlab.url
      ? new GitlabService({
          gitlab,
          store,
          speaker,
          lifecycle,
          config,
          clock,
          log,
          jobs,
          streamId: async (name) => (await api.streams()).find((x) => x.name === name)?.id,
          kickJobs: () => runner?.kick(),
          ...(metrics ? { onFailure: (reason: string) => metrics.gitlabFailures.inc({ reason }), onSynced: (what: string) => metrics.gitlabSynced.inc({ what }) } : {}),
        })
      : undefined;

  const history: HistoryDeps = {
    store,
    api,
    speaker,
    clock,
    log,
    sla: config.sla,
    streams: sreStreams,
    generalStream: config.streams.general,
    alertSenders: config.alerts.senders,
    parse: parseAlert,
    applyMove: (from, to) => pipeline.followMove(from, to, undefined),
    importWindow: config.zulip.importWindow,
    pace: async () => {
      for (let wait = limiter.delayFor(); wait > 0; wait = limiter.delayFor()) await new Promise((r) => setTimeout(r, wait));
      limiter.take();
    },
  };

  // One status card per incident topic (src/features/status-card/): rendered on the tick.
  const statusCards = config.statusCard.enabled
    ? new StatusCards({
        store,
        speaker,
        clock,
        log,
        sla: config.sla,
        timeZone: tz,
        zabbixConfigured: zabbixOn,
        acknowledgeEmoji: config.reactions.acknowledge,
        newTopicHold: (host) => advisor.newTopicHold(host),
        handledBy: (i, now) => {
          const h = responders.handlerOf(i, now);
          return h ? { name: h.person.name, role: h.role } : undefined;
        },
        issueLine: (eventId) => gitlabService?.issueLine(eventId),
      })
    : undefined;

  // The modules, in the order their hooks run. On an alert: the non-critical 🔁/checklist, then
  // the runbook's hint and client prompt (the first things said in a new topic), then metrics,
  // then the link to the host's earlier topic. `help` lists every module's commands.
  const listed: BotModule[] = [
    helpModule(() => pipeline.registry),
    nonCriticalModule(new NonCriticalWorkflow({ store, speaker, config, clock, log, firstMessage })),
    runbookModule(
      advisor,
      new RecheckService({ ...(zabbixOn && zabbix ? { zabbix } : {}), store, clock, log, waitMs: config.runbook.recheck.wait }),
    ),
    ...(metrics ? [metricsModule(metrics, () => clock.now())] : []),
    incidentsModule({
      lifecycle,
      store,
      speaker,
      config,
      sla: config.sla,
      timeZone: tz,
      streamName,
      zabbixConfigured: zabbixOn,
      history,
      reactions: { lifecycle, store, api, speaker, log, jobs, emoji: config.reactions.acknowledge, streams: sreStreams, alertSenders: config.alerts.senders, selfId: me.id, userName: async (id) => (await userOf(id)).fullName, publish, parse: parseAlert },
    }),
    ...(statusCards ? [statusCardModule(statusCards)] : []),
    respondersModule(responders, tz, {
      ...(hostGroups ? { hostGroups } : {}),
      ...(peopleNeeded ? { people } : {}),
      ...(zabbixHandover && zabbix ? { zabbixJob: zabbixHandoverJob({ zabbix, api, speaker, store, config, log, currentFr: () => responders.current()?.to }) as JobHandler<never> } : {}),
    }),
    remindersModule(reminders, (round) => {
      metrics?.reminders.inc(round.reminders);
      metrics?.warnings.inc(round.warnings);
      metrics?.breaches.inc(round.breaches);
    }),
    reportsModule({ ...reportDeps, weeklyCron: config.reports.weeklyCron, reportTopic: config.reports.topic, generalStream: config.streams.general }),
    ...(sync ? [zabbixSyncModule(sync)] : []),
    ...(gitlabService ? [gitlabModule(gitlabService, store, jobs)] : []),
  ];
  const modules = adjust ? adjust(listed) : listed;
  runner = new JobRunner({ store, clock, log, handlers: modules.flatMap((m) => m.jobs ?? []), ...(metrics ? { onFailure: (kind: string) => metrics.jobFailures.inc({ kind }) } : {}) });
  const pipeline: Pipeline = new Pipeline({
    modules,
    intake: createIntake({ store, sla: config.sla, clock, log, speaker, parse: parseAlert }),
    streams: sreStreams,
    alertSenders: config.alerts.senders,
    clock,
    log,
    speaker,
    jobs,
    transaction: (fn) => store.transaction(fn),
    selfId: me.id,
    selfName: me.fullName,
    streamName,
    learnStream: (id, name) => directory.learn(id, name),
    // A command answered ahead of its batch (humans first) stores no position: the batch does, in order.
    markHandled: (id) => {
      if (!poller.handlingAhead(id)) cursor.set(id);
    },
    isBot: async (id) => (await userOf(id)).isBot,
    ...(metrics ? { onHookError: (module: string, hook: string) => metrics.hookErrors.inc({ module, hook }) } : {}),
  });
  // The store's health (src/store/watch.ts): an outage stops intake (the poller retries the
  // message) and is said once in the general stream, straight through the API when the outbox
  // (in the same store) cannot take it; a deleted store file is said once too.
  const storeNotices = 'Bot health';
  const storeWatch = new StoreWatch({
    store,
    clock,
    log,
    timeZone: tz,
    say: (text) => speaker.say(config.streams.general, storeNotices, text),
    sayDirect: async (text, key) => {
      // With its own send key, looked for first: an answer lost on the way never posts it twice.
      if (key !== undefined && api.sentKeys) {
        limiter.take();
        if ((await api.sentKeys({ stream: config.streams.general, topic: storeNotices }, me.email, 50)).has(key)) return;
      }
      limiter.take();
      await api.sendStreamMessage(config.streams.general, storeNotices, text, key);
    },
  });
  const sink = {
    onMessage: (m: Parameters<Pipeline['onMessage']>[0]) => storeWatch.intake(() => pipeline.onMessage(m)),
    onTopicMove: (m: Parameters<Pipeline['onTopicMove']>[0]) => storeWatch.intake(() => pipeline.onTopicMove(m)),
    onDirectMessage: (m: Parameters<Pipeline['onDirectMessage']>[0]) => storeWatch.intake(() => pipeline.onDirectMessage(m)),
    onReaction: (r: Parameters<Pipeline['onReaction']>[0]) => storeWatch.intake(() => pipeline.onReaction(r)),
    onMessageEdit: (e: Parameters<Pipeline['onMessageEdit']>[0]) => storeWatch.intake(() => pipeline.onMessageEdit(e)),
    onMessagesDeleted: (ids: number[]) => storeWatch.intake(() => pipeline.onMessagesDeleted(ids)),
  };
  const poller = new EventPoller({
    api,
    sink,
    cursor,
    streams: pipeline.streams,
    log,
    // Alert posts are recognised by message id: safe to read back on start (src/zulip/event-poller.ts).
    replayable: (m) => config.alerts.senders.some((e) => e.toLowerCase() === m.senderEmail.toLowerCase()),
    // Humans first: a read-only command is answered ahead of the alerts queued before it.
    urgent: (m) => pipeline.readOnlyCommand(m),
    // First start on this store: what is already open in Zulip is imported from its history, up to
    // where live handling starts (later posts are the poller's).
    onFirstStart: (upTo) => {
      if (store.openIncidents().length === 0) jobRunner.enqueue(IMPORT_JOB, { upTo });
    },
    // The realm's edit limit (unless zulip.editWindow sets one): how long cards are edited in place.
    onRegistered: (queue) => sender.realmEditLimit(queue.editLimitSeconds),
    onLive: () => {
      log.info('polling live');
      // What changed in Zulip while the bot was not listening (renames, ✔, un-✔): off the message path.
      jobRunner.enqueue(RECONCILE_JOB, {});
    },
  });
  const jobRunner = runner;
  const crons = modules.flatMap((mod) => (mod.cron ?? []).map((job) => ({ mod, job, ticker: cron?.(job.expression, tz) })));

  /** What /healthz says: the Zulip queue alive and polled recently, the store writable, each module's state. */
  function health(): { ok: boolean; [k: string]: unknown } {
    const now = clock.now();
    const st = poller.status;
    const pollAgeSeconds = st.lastPollAt === undefined ? undefined : Math.round((now - st.lastPollAt) / 1000);
    const zulipOk = st.queueId !== undefined && pollAgeSeconds !== undefined && pollAgeSeconds < 180;
    let probe: string | undefined;
    try {
      store.setState('health.checkedAt', String(now));
    } catch (err) {
      probe = `store: ${(err as Error).message.replace(/^store: /, '')}`;
    }
    const watched = storeWatch.status(now);
    const storeOk = probe === undefined && watched.ok;
    const storeReason = watched.reason ?? probe;
    const mods = pipeline.health();
    let outboxDepth: number | null = null;
    let jobsQueued: number | null = null;
    try {
      outboxDepth = store.size();
      jobsQueued = jobRunner.depth;
    } catch {
      // unreadable: the reason says why
    }
    const reasons = [...(zulipOk ? [] : ['zulip: the event queue is not polled']), ...(storeReason !== undefined ? [storeReason] : [])];
    return {
      ok: zulipOk && storeOk && mods.ok,
      ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
      zulip: { ok: zulipOk, queueId: st.queueId ?? null, pollAgeSeconds: pollAgeSeconds ?? null, registrations: st.registrations, consecutiveFailures: st.consecutiveFailures },
      store: {
        ok: storeOk,
        ...(storeReason !== undefined ? { reason: storeReason } : {}),
        ...(watched.outage ? { since: new Date(watched.outage.since).toISOString(), intakeStopped: watched.outage.intakeStopped } : {}),
        outboxDepth,
        jobsQueued,
      },
      zabbix: mods.modules['zabbix-sync'] ?? { configured: false },
      gitlab: mods.modules['gitlab'] ?? { configured: false },
      modules: mods.modules,
    };
  }

  let polling: Promise<void> | undefined;
  return {
    pipeline,
    modules,
    sender,
    reminders,
    jobs: jobRunner,
    get sync() {
      return sync;
    },
    /** GitLab tracking, when configured (its `issueLine` is for the status card). */
    gitlab: gitlabService,
    /** Routes the modules add to the HTTP server (the GitLab webhook). */
    httpRoutes: (gitlabService && config.gitlab.webhookToken ? [gitlabService.webhookRoute] : []) as HttpRoute[],
    poller,
    /** One scheduler round: every module's tick, each in its own error boundary. */
    tick: (now: number) => {
      storeWatch.tick(now);
      pipeline.tick(now);
    },
    storeWatch,
    health,
    async start(signal: AbortSignal): Promise<void> {
      log.info({ user: me.email, streams: pipeline.streams, modules: modules.map((m) => m.name) }, 'zulip-sre-bot starting');
      // Messages queued before a restart go to topics that may have been renamed or ✔'d meanwhile:
      // those topics are looked up first, so nothing reopens an old topic name.
      const pending = new Set(store.pendingTopics().map((t) => `${t.stream}\u0000${t.topic}`));
      if (pending.size > 0) {
        await Promise.race([
          reconcileOnce(history, (t) => pending.has(`${t.stream}\u0000${t.topic}`)).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not check the topics of queued messages; sending anyway')),
          new Promise((r) => setTimeout(r, 15_000).unref()),
        ]);
      }
      // A store outage said by a process that died before it could say the outage ended: its end
      // is said now, so the team is never left with only the alarm. The send key comes from the
      // alarm's message: should two processes in turn find the same alarm (high availability),
      // the second finds the first's notice by that key and does not post it again. A notice the
      // dead process queued but did not send is still in the outbox: it goes out, and no second
      // one is queued (looked at before and after the look-up, as the sender may send it meanwhile);
      // nor when this process saw an outage of its own meanwhile: it says that one's end itself.
      const queuedNotices = store.pendingFor(config.streams.general, storeNotices);
      void Promise.race([api.latestMessages({ stream: config.streams.general, topic: storeNotices, sender: me.email }, 1), new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000).unref())])
        .then((last) => {
          const alarm = last?.at(-1);
          if (!alarm || !/My store cannot write/.test(alarm.content)) return;
          if (storeWatch.sawOutage) {
            log.info({ alarm: alarm.id }, 'the store outage said before the restart: left to the end this process says of its own');
            return;
          }
          if (queuedNotices > 0 || store.pendingFor(config.streams.general, storeNotices) > 0) {
            log.info({ alarm: alarm.id }, 'the store outage said before the restart: its end is already queued');
            return;
          }
          const key = createHash('sha256').update(`store-back:${alarm.id}`).digest('hex').slice(0, 12);
          store.enqueue({ kind: 'message', stream: config.streams.general, topic: storeNotices, key, content: backAgainAfterRestart(alarm.timestamp * 1000, tz) }, clock.now(), 'notice');
          sender.kick();
          log.info({ afterRestart: true, alarm: alarm.id }, 'store writes again; intake resumed');
        })
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not look for an unfinished store notice'));
      sender.start();
      jobRunner.start();
      polling = poller.run(signal);
      ticker.start(() => {
        storeWatch.tick(clock.now());
        pipeline.tick(clock.now());
      });
      for (const c of crons) c.ticker?.start(() => pipeline.runCron(c.mod, () => c.job.run(clock.now())));
    },
    async stop(): Promise<void> {
      await ticker.stop();
      for (const c of crons) await c.ticker?.stop();
      await polling;
      await jobRunner.stop(1_000);
      await sender.stop(SHUTDOWN_FLUSH_MS);
    },
  };
}
