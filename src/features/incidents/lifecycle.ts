/**
 * What happens to incidents beyond a single alert: acknowledging from chat, a topic marked
 * resolved, a problem coming back on a host. Every change goes through `save`, which keeps the
 * SLA timers in step with the state.
 */
import type { SlaConfig } from '../../domain/sla';
import { formatDuration } from '../../domain/duration';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { neutralizeMentions, topicLink } from '../../core/text';
import type { IncidentStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import type { JobHandler, JobQueue } from '../../pipeline/jobs';
import { isResolvedTopic } from '../../domain/topics';
import { acknowledge, resolve, type Incident, type IncidentLogEntry, type TopicRef } from '../../domain/incident';
import { schedule, snooze } from '../../domain/timers';
import { CLASS_SEVERITY } from '../../domain/classes';


/** Asks whether triggers still fire (Zabbix's view); undefined when it cannot tell. */
export type FiringCheck = (incidents: readonly Incident[]) => Promise<Map<string, boolean> | undefined>;

export const STILL_FIRING_JOB = 'incidents.still-firing';
/** How long the ✔ check waits for Zabbix before saying it could not tell. */
const FIRING_WAIT_MS = 20_000;

interface StillFiringJob extends TopicRef {
  by: string;
  eventIds: string[];
}

export interface LifecycleDeps {
  store: IncidentStore & Transactional;
  speaker: Speaker;
  sla: SlaConfig;
  clock: Clock;
  log: Logger;
  userName: (id: number) => Promise<string | undefined>;
  firing?: FiringCheck;
  jobs: JobQueue;
}

export class IncidentLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  /** Stores the incident with its timers brought up to date. */
  save(incident: Incident, log?: IncidentLogEntry): Incident {
    const scheduled = schedule(incident, this.deps.sla);
    this.deps.store.putIncident(scheduled, log);
    return scheduled;
  }

  /**
   * Acknowledges the topic's open incidents (or the one with `eventId`). Returns what was
   * acknowledged now and what already was.
   */
  acknowledgeTopic(ref: TopicRef, by: string, note: string | undefined, eventId?: string): { acked: Incident[]; already: Incident[]; notFound: boolean } {
    const { store, clock } = this.deps;
    return store.transaction(() => {
      const all = store.incidentsInTopic(ref, { openOnly: true });
      const chosen = eventId === undefined ? all : all.filter((i) => i.eventId === eventId);
      if (eventId !== undefined && chosen.length === 0) return { acked: [], already: [], notFound: true };
      const now = clock.now();
      const acked: Incident[] = [];
      const already: Incident[] = [];
      for (const i of chosen) {
        if (i.status !== 'open') {
          already.push(i);
          continue;
        }
        acked.push(this.save(acknowledge(i, { at: now, by, ...(note ? { note } : {}) }), { eventId: i.eventId, at: now, kind: 'acknowledged', actor: by, ...(note ? { detail: note } : {}) }));
      }
      return { acked, already, notFound: false };
    });
  }

  /** Tracks an incident reported by other means (a customer mail, a cron mail, a manual topic). */
  openManual(m: { eventId: string; incidentClass: Incident['incidentClass']; host: string; summary: string; stream: string; topic: string; by: string; messageId: number }): Incident {
    const now = this.deps.clock.now();
    const severity = CLASS_SEVERITY[m.incidentClass];
    const incident: Incident = {
      eventId: m.eventId,
      triggerId: '',
      host: m.host,
      triggerName: m.summary,
      itemText: '',
      severity,
      incidentClass: m.incidentClass,
      link: '',
      stream: m.stream,
      topic: m.topic,
      status: 'open',
      openedAt: now,
      openedMessageId: m.messageId,
      lastAlertAt: now,
      lastAlertMessageId: m.messageId,
      alertCount: 0,
    };
    return this.save(incident, { eventId: m.eventId, at: now, kind: 'opened', actor: m.by, detail: `${severity}: reported by hand` });
  }

  /** Resolves the topic's open incidents by hand (`!resolve`, `!resolved-by`). */
  resolveTopicManually(ref: TopicRef, by: string, resolution: 'manual' | 'linked', detail: string): Incident[] {
    const { store, clock } = this.deps;
    return store.transaction(() => {
      const now = clock.now();
      return store
        .incidentsInTopic(ref, { openOnly: true })
        .map((i) => this.save(resolve(i, { at: now, by, resolution }), { eventId: i.eventId, at: now, kind: 'resolved', actor: by, detail }));
    });
  }

  /** Pauses the topic's reminders; returns the incidents and the effective end (capped at the deadline). */
  snoozeTopic(ref: TopicRef, forMs: number, by: string): { incidents: Incident[]; until: number } {
    const { store, clock } = this.deps;
    return store.transaction(() => {
      const now = clock.now();
      let until = now + forMs;
      const incidents: Incident[] = [];
      for (const i of store.incidentsInTopic(ref, { openOnly: true })) {
        const s = snooze(i, this.deps.sla, now + forMs);
        until = Math.min(until, s.until);
        incidents.push(this.save(s.incident, { eventId: i.eventId, at: now, kind: 'snoozed', actor: by, detail: `until ${new Date(s.until).toISOString()}` }));
      }
      return { incidents, until };
    });
  }

  /** A new problem opened: if the host had incidents in another topic, link the latest. */
  linkEarlierTopic(i: Incident): void {
    const { store } = this.deps;
    const others = store.incidentsInTopic(i, {}).filter((o) => o.eventId !== i.eventId);
    if (others.length > 0) return; // the topic already has its history
    const earlier = store.latestElsewhereForHost(i.host, i);
    if (!earlier) return;
    const when = formatDuration(this.deps.clock.now() - earlier.openedAt);
    this.deps.speaker.say(
      i.stream,
      i.topic,
      `🔁 New problem on **${neutralizeMentions(i.host)}**; tracking it here. Earlier incidents for this host: ${topicLink(earlier.stream, earlier.topic)} (latest: ${neutralizeMentions(earlier.triggerName)}, ${when} ago, ${earlier.status}).`,
    );
  }

  /**
   * A topic renamed with the ✔ prefix: its incidents are resolved now; which triggers may still
   * fire is said in the topic, after asking Zabbix (an after-commit job) when it is configured.
   */
  async onTopicMove(from: TopicRef, to: TopicRef, moved: Incident[], byUserId: number | undefined): Promise<void> {
    if (isResolvedTopic(from.topic) || !isResolvedTopic(to.topic)) return;
    const open = moved.filter((i) => i.status !== 'resolved');
    if (open.length === 0) return;
    const by = (byUserId !== undefined ? await this.deps.userName(byUserId) : undefined) ?? 'someone';
    const { store, clock } = this.deps;
    const now = clock.now();
    store.transaction(() => {
      for (const i of open) {
        this.save(resolve(i, { at: now, by, resolution: 'topic-resolved' }), { eventId: i.eventId, at: now, kind: 'resolved', actor: by, detail: 'topic marked resolved' });
      }
      const check: StillFiringJob = { ...to, by, eventIds: open.map((i) => i.eventId) };
      if (this.deps.firing) this.deps.jobs.enqueue(STILL_FIRING_JOB, check);
      else this.sayResolved(check, open, undefined);
    });
    this.deps.log.info({ topic: to, resolved: open.length }, 'topic marked resolved');
  }

  /** The after-commit job of a ✔: asks Zabbix which of the topic's triggers still fire, and says it. */
  readonly stillFiringJob: JobHandler<StillFiringJob> = {
    kind: STILL_FIRING_JOB,
    run: async (job) => {
      const incidents = job.eventIds.map((id) => this.deps.store.getIncident(id)).filter((i): i is Incident => i !== undefined);
      let view: Map<string, boolean> | undefined;
      try {
        view = await Promise.race([this.deps.firing?.(incidents), new Promise<undefined>((r) => setTimeout(() => r(undefined), FIRING_WAIT_MS).unref())]);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'cannot ask Zabbix whether triggers still fire');
      }
      this.sayResolved(job, incidents, view);
    },
  };

  private sayResolved(to: TopicRef & { by: string }, open: readonly Incident[], view: Map<string, boolean> | undefined): void {
    const firing = open.flatMap((incident) => {
      const z = view?.get(incident.eventId);
      if (z === true) return [{ incident, why: 'Zabbix says it is still firing' }];
      if (z === false) return [];
      return [{ incident, why: 'no OK from Zabbix yet' }];
    });
    const by = neutralizeMentions(to.by);
    if (firing.length === 0) {
      this.deps.speaker.say(to.stream, to.topic, `✅ Topic marked resolved by ${by}: ${open.length === 1 ? 'its incident is' : `its ${open.length} incidents are`} closed.`);
      return;
    }
    const lines = firing.map((x) => `- ${x.incident.severity}: **${neutralizeMentions(x.incident.triggerName)}** (event ${x.incident.eventId}) — ${x.why}`);
    this.deps.speaker.say(
      to.stream,
      to.topic,
      [
        `⚠️ This topic was marked resolved by ${by}, but ${firing.length === 1 ? 'this trigger' : 'these triggers'} may still be firing:`,
        ...lines,
        `Per the process, mark the topic resolved only when no other triggers fire for the host: verify the trigger no longer fires (${this.deps.firing ? '`!recheck` here has Zabbix execute its items now ("Execute now") and reports back' : 'Zabbix "Execute now"'}), then resolve. The incidents are closed in the bot; a new PROBLEM reopens tracking.`,
      ].join('\n'),
    );
  }
}
