/**
 * Zabbix and the chat, both ways: an acknowledgement typed in chat is made in Zabbix too; a
 * periodic sync brings what happened in Zabbix (acknowledged, resolved, problems whose alert post
 * never arrived) into the incidents and their topics. When Zabbix fails, the bot keeps working
 * from chat and says so once in the general stream, and once when it recovers.
 */
import { type BotConfig } from '../../config/schema';
import { streamForClass } from '../../domain/classes';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import type { IncidentLifecycle, FiringCheck } from '../incidents/lifecycle';
import { acknowledge, resolve, type Incident, type IncidentChange, type TopicRef } from '../../domain/incident';
import { isZabbixEventId } from '../../domain/event-ids';
import type { JobHandler } from '../../pipeline/jobs';
import type { IncidentStore, StateStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import { SEVERITY_CLASS, type Severity } from '../../domain/classes';
import type { ZabbixApi, ZabbixEvent } from '../../zabbix/client';

const FAILING_KEY = 'zabbix.sync.failing';
const FIRST_SYNC_KEY = 'zabbix.sync.since';
/** A problem younger than this may still have its webhook post on the way. */
const LOST_GRACE_MS = 90_000;
const CHUNK = 200;


export const ZABBIX_ACK_JOB = 'zabbix.acknowledge';

export interface ZabbixAckJob extends TopicRef {
  eventIds: string[];
  message: string;
  /** The `!ack` message: gets ✅ when Zabbix has the acknowledgement. */
  messageId?: number;
}

function isZabbixEvent(i: Incident): boolean {
  return isZabbixEventId(i.eventId);
}

export interface ZabbixSyncDeps {
  zabbix: ZabbixApi;
  store: IncidentStore & StateStore & Transactional;
  speaker: Speaker;
  lifecycle: IncidentLifecycle;
  config: Pick<BotConfig, 'streams' | 'zabbix'>;
  clock: Clock;
  log: Logger;
  /** Base URL of the Zabbix frontend, for links. */
  zabbixUrl: string;
  /**
   * Tells the modules what Zabbix changed (the pipeline's `emit`: a `zabbix` change), inside the
   * transaction: the status card shows it.
   */
  publish?: (change: IncidentChange) => void;
  /**
   * The status card shows Zabbix's acknowledgements and resolutions (src/features/status-card/):
   * the sync then says no line of its own for them.
   */
  cardShowsState?: boolean;
}

export interface SyncResult {
  acknowledged: number;
  resolved: number;
  lost: number;
}

export class ZabbixSync {
  private running = false;
  private nextAt = 0;
  lastOkAt: number | undefined;
  lastError: string | undefined;

  constructor(private readonly deps: ZabbixSyncDeps) {}

  get failing(): boolean {
    return this.deps.store.getState(FAILING_KEY) === '1';
  }

  /** For the 1-second scheduler tick: runs a sync when `syncEvery` has passed and none is running. */
  maybeRun(now: number): void {
    if (this.running || now < this.nextAt) return;
    this.nextAt = now + this.deps.config.zabbix.syncEvery;
    void this.run();
  }

  /** The after-commit job that acknowledges in Zabbix what was acknowledged in chat; retried until Zabbix answers. */
  readonly acknowledgeJob: JobHandler<ZabbixAckJob> = {
    kind: ZABBIX_ACK_JOB,
    run: async (job) => {
      await this.deps.zabbix.acknowledge(job.eventIds, job.message);
      this.deps.log.info({ eventIds: job.eventIds }, 'acknowledged in Zabbix');
      this.deps.store.transaction(() => {
        if (job.messageId !== undefined) this.deps.speaker.react(job.messageId, 'check');
        this.tell(job, 'ack-confirmed');
      });
    },
    reportFailure: (job, err) => {
      this.deps.log.warn({ err: err.message, eventIds: job.eventIds }, 'acknowledging in Zabbix failed; retrying');
      this.tell(job, 'ack-failing');
      this.deps.speaker.say(
        job.stream,
        job.topic,
        `⚠️ Could not acknowledge in Zabbix yet (${outside(err.message, { max: 300 })}); the acknowledgement here still counts, and I keep trying until Zabbix answers — acknowledge there by hand if Zabbix is calling someone.`,
      );
    },
    giveUp: (job, err) => {
      this.deps.speaker.say(job.stream, job.topic, `⚠️ Gave up acknowledging event ${job.eventIds.join(', ')} in Zabbix (${outside(err.message, { max: 300 })}): please acknowledge it there by hand.`);
    },
  };

  /** Tells the modules how a chat acknowledgement fared in Zabbix (the status card). */
  private tell(job: ZabbixAckJob, state: 'ack-confirmed' | 'ack-failing'): void {
    if (!this.deps.publish) return;
    const incidents = job.eventIds.map((id) => this.deps.store.getIncident(id)).filter((i): i is Incident => i !== undefined);
    if (incidents.length > 0) this.deps.publish({ kind: 'zabbix', incidents, state, where: { stream: job.stream, topic: job.topic } });
  }

  /** The job for a chat acknowledgement of Zabbix problems; undefined when none of them is Zabbix's. */
  static ackJob(acked: readonly Incident[], by: string, note: string | undefined, where: TopicRef, messageId?: number): ZabbixAckJob | undefined {
    const eventIds = acked.filter((i) => isZabbixEventId(i.eventId)).map((i) => i.eventId);
    return eventIds.length === 0 ? undefined : { eventIds, message: `${note ?? 'Acknowledged'} — ${by} (via Zulip)`, stream: where.stream, topic: where.topic, ...(messageId !== undefined ? { messageId } : {}) };
  }

  /** Zabbix's view of whether the incidents' triggers still fire (for the ✔ check). */
  readonly firing: FiringCheck = async (incidents) => {
    const ids = incidents.filter(isZabbixEvent).map((i) => i.eventId);
    const events = await this.deps.zabbix.events(ids);
    return new Map(events.map((e) => [e.eventId, !e.resolved]));
  };

  async run(): Promise<SyncResult | undefined> {
    if (this.running) return undefined;
    this.running = true;
    try {
      const result = await this.syncOnce();
      this.lastOkAt = this.deps.clock.now();
      this.lastError = undefined;
      if (this.failing) {
        this.deps.store.setState(FAILING_KEY, '0');
        this.deps.speaker.say(this.deps.config.streams.general, 'Zabbix sync', '✅ Zabbix sync works again.');
        this.deps.log.info('Zabbix sync recovered');
      }
      return result;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.deps.log.warn({ err: this.lastError }, 'Zabbix sync failed');
      if (!this.failing) {
        this.deps.store.setState(FAILING_KEY, '1');
        this.deps.speaker.say(
          this.deps.config.streams.general,
          'Zabbix sync',
          `⚠️ Zabbix sync is failing (${outside(this.lastError, { max: 300 })}). The bot keeps working from chat; acknowledgements may need doing in Zabbix by hand. I'll say when it recovers.`,
        );
      }
      return undefined;
    } finally {
      this.running = false;
    }
  }

  private async syncOnce(): Promise<SyncResult> {
    const { store, zabbix, clock } = this.deps;
    const result: SyncResult = { acknowledged: 0, resolved: 0, lost: 0 };
    const open = store.openIncidents().filter(isZabbixEvent);
    for (let i = 0; i < open.length; i += CHUNK) {
      const chunk = open.slice(i, i + CHUNK);
      const events = new Map((await zabbix.events(chunk.map((x) => x.eventId))).map((e) => [e.eventId, e]));
      for (const incident of chunk) {
        const e = events.get(incident.eventId);
        if (e) this.apply(incident, e, result);
      }
    }
    const now = clock.now();
    const since = Number(store.getState(FIRST_SYNC_KEY) ?? NaN);
    if (Number.isNaN(since)) store.setState(FIRST_SYNC_KEY, String(now));
    const from = Number.isNaN(since) ? now : Math.max(since, now - 86_400_000);
    const problems = (await zabbix.problems({ sinceSec: Math.floor(from / 1000) })).filter((p) => p.clock * 1000 < now - LOST_GRACE_MS && this.adoptable(p) && !store.getIncident(p.eventId));
    if (problems.length > 0) {
      for (const e of await zabbix.events(problems.map((p) => p.eventId))) if (!e.resolved && this.adoptable(e)) this.adoptLost(e, result);
    }
    if (result.acknowledged + result.resolved + result.lost > 0) this.deps.log.info({ ...result }, 'Zabbix sync applied changes');
    return result;
  }

  private apply(incident: Incident, e: ZabbixEvent, result: SyncResult): void {
    const { store, speaker, lifecycle, clock } = this.deps;
    const now = clock.now();
    const where = { stream: incident.stream, topic: incident.topic };
    // With the status card, a change of state only is shown there (edited), not said as a line.
    const quiet = this.deps.cardShowsState === true;
    if (e.resolved) {
      store.transaction(() => {
        const saved = lifecycle.save(resolve(incident, { at: now, by: 'Zabbix', resolution: 'zabbix' }), { eventId: incident.eventId, at: now, kind: 'resolved', actor: 'Zabbix', detail: 'resolved in Zabbix (sync)' });
        if (!quiet) speaker.say(incident.stream, incident.topic, `✅ Zabbix reports **${outside(incident.triggerName)}** (event ${incident.eventId}) resolved.`);
        this.deps.publish?.({ kind: 'zabbix', incidents: [saved], state: 'resolved', by: 'Zabbix', where });
      });
      result.resolved++;
      return;
    }
    if (incident.status === 'open' && e.acknowledged) {
      const ack = [...e.acknowledges].reverse().find((a) => a.acknowledged) ?? e.acknowledges.at(-1);
      const by = ack?.user ?? 'someone';
      const note = ack?.message || undefined;
      store.transaction(() => {
        const saved = lifecycle.save(acknowledge(incident, { at: now, by: `${by} (Zabbix)`, ...(note ? { note } : {}) }), { eventId: incident.eventId, at: now, kind: 'acknowledged', actor: `${by} (Zabbix)`, ...(note ? { detail: note } : {}) });
        if (!quiet) speaker.say(incident.stream, incident.topic, `👍 Acknowledged in Zabbix by ${outside(by, { max: 100 })}: **${outside(incident.triggerName)}** (event ${incident.eventId})${note ? ` — ${outside(note, { max: 1000 })}` : ''}`);
        this.deps.publish?.({ kind: 'zabbix', incidents: [saved], state: 'acknowledged', by, ...(note ? { note } : {}), where });
      });
      result.acknowledged++;
    }
  }

  /**
   * Whether a problem without an alert post is a lost webhook worth posting: not one a maintenance
   * suppresses (Zabbix's action stays quiet about it on purpose), and of a severity in
   * `zabbix.severities` (the ones the action posts).
   */
  private adoptable(p: { severity: Severity; suppressed?: boolean }): boolean {
    return p.suppressed !== true && this.deps.config.zabbix.severities.includes(p.severity);
  }

  /** A problem Zabbix has whose alert never reached the chat: post it where it belongs and track it. */
  private adoptLost(e: ZabbixEvent, result: SyncResult): void {
    const { store, speaker, lifecycle, config, clock } = this.deps;
    const host = e.hosts[0]?.name ?? e.hosts[0]?.host ?? 'unknown host';
    const incidentClass = SEVERITY_CLASS[e.severity];
    const stream = streamForClass(config.streams, incidentClass);
    const link = `${this.deps.zabbixUrl}/tr_events.php?triggerid=${e.triggerId}&eventid=${e.eventId}`;
    const now = clock.now();
    const incident: Incident = {
      eventId: e.eventId,
      triggerId: e.triggerId,
      host,
      triggerName: e.name,
      itemText: '',
      severity: e.severity,
      incidentClass,
      link,
      stream,
      topic: host,
      status: e.acknowledged ? 'acknowledged' : 'open',
      openedAt: e.clock * 1000,
      openedMessageId: 0,
      lastAlertAt: e.clock * 1000,
      lastAlertMessageId: 0,
      alertCount: 0,
      ...(e.acknowledged ? { acknowledgedAt: now, acknowledgedBy: `${e.acknowledges.at(-1)?.user ?? 'someone'} (Zabbix)` } : {}),
    };
    store.transaction(() => {
      const saved = lifecycle.save(incident, { eventId: e.eventId, at: now, kind: 'opened', actor: 'Zabbix sync', detail: 'problem found in Zabbix; its alert post never arrived' });
      this.deps.publish?.({ kind: 'zabbix', incidents: [saved], state: 'adopted', by: 'Zabbix sync', where: { stream, topic: host } });
      speaker.say(
        stream,
        host,
        `🛰️ Zabbix has this problem, but its alert never arrived here (lost webhook?). Tracking it now:\nPROBLEM (${e.severity}) alert on [${outside(host)}](${link}):\n* ${outside(e.name)}`,
      );
    });
    result.lost++;
  }
}
