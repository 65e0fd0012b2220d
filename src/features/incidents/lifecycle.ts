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
import type { IncidentStore, StateStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import type { JobHandler, JobQueue } from '../../pipeline/jobs';
import { hostTopic, isResolvedTopic, resolvedTopic } from '../../domain/topics';
import { ZulipError } from '../../zulip/api';
import { acknowledge, reopen, resolve, type Incident, type IncidentLogEntry, type TopicRef } from '../../domain/incident';
import { schedule, snooze } from '../../domain/timers';
import { CLASS_SEVERITY, streamForClass, type ClassStreams } from '../../domain/classes';


/** Asks whether triggers still fire (Zabbix's view); undefined when it cannot tell. */
export type FiringCheck = (incidents: readonly Incident[]) => Promise<Map<string, boolean> | undefined>;

export const STILL_FIRING_JOB = 'incidents.still-firing';
/** How long the ✔ check waits for Zabbix before saying it could not tell. */
const FIRING_WAIT_MS = 20_000;

export const MARK_RESOLVED_JOB = 'incidents.mark-resolved';
const REFUSED_KEY = 'zulip.resolveTopics.refused';

interface MarkResolvedJob extends TopicRef {
  /** A message in the topic (the command): the rename moves every message of its topic. */
  messageId: number;
  eventIds: string[];
}

interface StillFiringJob extends TopicRef {
  by: string;
  /** How it was resolved: the ✔ (default) or the resolution phrase. */
  how?: 'phrase';
  eventIds: string[];
}

export interface LifecycleDeps {
  store: IncidentStore & StateStore & Transactional;
  speaker: Speaker;
  sla: SlaConfig;
  clock: Clock;
  log: Logger;
  userName: (id: number) => Promise<string | undefined>;
  firing?: FiringCheck;
  jobs: JobQueue;
  /** Marks a topic resolved in Zulip (`zulip.resolveTopics`); absent: the bot does not move topics. */
  renameTopic?: (messageId: number, topic: string) => Promise<void>;
  /** Messages still queued for a topic: a rename waits for them (they would open the old topic again). */
  pendingFor?: (stream: string, topic: string) => number;
  /** Says a topic's first message; during a storm its hosts' go into the storm summary (src/features/runbook). Default: said. */
  firstMessage?: (m: { host: string; ref: TopicRef; content: string; kind: 'link' }) => void;
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
   * Acknowledges the topic's open incidents (or the one with `eventId`), recording who by name
   * and (from chat) by Zulip user id. Returns what was acknowledged now and what already was.
   */
  acknowledgeTopic(ref: TopicRef, by: string, note: string | undefined, eventId?: string, byId?: number): { acked: Incident[]; already: Incident[]; notFound: boolean; elsewhere?: TopicRef } {
    const { store, clock } = this.deps;
    return store.transaction(() => {
      const all = store.incidentsInTopic(ref, { openOnly: true });
      let chosen = eventId === undefined ? all : all.filter((i) => i.eventId === eventId);
      let elsewhere: TopicRef | undefined;
      if (eventId !== undefined && chosen.length === 0) {
        // An event id names one incident: acknowledge it wherever it is tracked, and say where.
        const other = store.getIncident(eventId);
        if (!other || other.status === 'resolved') return { acked: [], already: [], notFound: true };
        chosen = [other];
        elsewhere = { stream: other.stream, topic: other.topic };
      }
      const now = clock.now();
      const acked: Incident[] = [];
      const already: Incident[] = [];
      for (const i of chosen) {
        if (i.status !== 'open') {
          already.push(i);
          continue;
        }
        acked.push(this.save(acknowledge(i, { at: now, by, ...(byId !== undefined ? { byId } : {}), ...(note ? { note } : {}) }), { eventId: i.eventId, at: now, kind: 'acknowledged', actor: by, ...(note ? { detail: note } : {}) }));
      }
      return { acked, already, notFound: false, ...(elsewhere ? { elsewhere } : {}) };
    });
  }

  /** The host's open incidents tracked in other topics than `ref` (the topic is named after the host). */
  openElsewhere(ref: TopicRef): Incident[] {
    const host = hostTopic(ref.topic).toLowerCase();
    return this.deps.store.openIncidents().filter((i) => i.host.toLowerCase() === host && !(i.stream === ref.stream && i.topic === ref.topic));
  }

  /** "…; this host's open incidents are tracked in …" for replies that found nothing in the topic. */
  whereElse(ref: TopicRef): string {
    const others = this.openElsewhere(ref);
    if (others.length === 0) return '';
    const places = [...new Map(others.map((i) => [`${i.stream}\u0000${i.topic}`, i])).values()].slice(0, 5);
    return ` This host's open incidents are tracked in ${places.map((i) => `${topicLink(i.stream, i.topic)} (event ${others.filter((o) => o.stream === i.stream && o.topic === i.topic).map((o) => o.eventId).join(', ')})`).join(', ')}: use the command there, or \`!ack <event id>\` here.`;
  }

  /** Says in the topic Zabbix used that a resolved incident fires again and is tracked again. */
  sayReopened(i: Incident, previous: TopicRef): void {
    const where = previous.stream === i.stream && previous.topic === i.topic ? 'this topic' : topicLink(previous.stream, previous.topic);
    this.deps.speaker.say(
      i.stream,
      i.topic,
      `🔁 **Reopened**: **${neutralizeMentions(i.triggerName)}** (event ${i.eventId}) is posted again by Zabbix although ${where} was marked resolved — the trigger still fires. Tracking it again here; its SLA counts from the first opening (${formatDuration(this.deps.clock.now() - i.openedAt)} ago) and it needs \`!ack\` again.`,
    );
  }

  /** An alert posted in another stream than its severity's: tracked by its severity, and said once. */
  noteWrongStream(i: Incident, postedIn: string, streams: ClassStreams): void {
    const right = streamForClass(streams, i.incidentClass);
    if (postedIn === right) return;
    this.deps.speaker.say(i.stream, i.topic, `ℹ️ This ${i.severity} alert is ${i.incidentClass}, but it was posted in **${neutralizeMentions(postedIn)}**, not **${right}**: it is tracked as ${i.incidentClass} (that class's SLA and reminders). Check the Zabbix action's stream for this severity.`, 'bulk');
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
    const content = `🔁 New problem on **${neutralizeMentions(i.host)}**; tracking it here. Earlier incidents for this host: ${topicLink(earlier.stream, earlier.topic)} (latest: ${neutralizeMentions(earlier.triggerName)}, ${when} ago, ${earlier.status}).`;
    if (this.deps.firstMessage) this.deps.firstMessage({ host: i.host, ref: { stream: i.stream, topic: i.topic }, content, kind: 'link' });
    else this.deps.speaker.say(i.stream, i.topic, content, 'bulk');
  }

  /**
   * A topic renamed with the ✔ prefix: its incidents are resolved now; which triggers may still
   * fire is said in the topic, after asking Zabbix (an after-commit job) when it is configured.
   */
  async onTopicMove(from: TopicRef, to: TopicRef, moved: Incident[], byUserId: number | undefined): Promise<void> {
    if (isResolvedTopic(from.topic) && !isResolvedTopic(to.topic)) return this.onUnresolved(to, moved, byUserId);
    if (isResolvedTopic(from.topic) || !isResolvedTopic(to.topic)) return;
    const open = moved.filter((i) => i.status !== 'resolved');
    if (open.length === 0) return;
    const by = (byUserId !== undefined ? await this.deps.userName(byUserId) : undefined) ?? 'someone';
    this.closeByPerson(to, open, by, 'topic-resolved', 'topic marked resolved');
    this.deps.log.info({ topic: to, resolved: open.length }, 'topic marked resolved');
  }

  /**
   * The old integration's phrase, "I agree that this has been fully resolved", alone in an
   * incident's topic: resolves its incidents as a ✔ does (with the same still-firing check), and
   * the bot puts ✅ on the message. False when the topic has nothing open.
   */
  resolveByPhrase(ref: TopicRef, by: string, messageId: number): boolean {
    const open = this.deps.store.incidentsInTopic(ref, { openOnly: true });
    if (open.length === 0) return false;
    this.deps.store.transaction(() => {
      this.closeByPerson(ref, open, by, 'agreed', 'agreed fully resolved (the resolution phrase)');
      this.deps.speaker.react(messageId, 'check');
    });
    this.deps.log.info({ topic: ref, resolved: open.length, by }, 'resolved by the resolution phrase');
    return true;
  }

  /** Resolves what a person closed (✔, the phrase), then says which triggers may still fire (asking Zabbix off the message path). */
  private closeByPerson(to: TopicRef, open: readonly Incident[], by: string, resolution: 'topic-resolved' | 'agreed', detail: string): void {
    const { store, clock } = this.deps;
    const now = clock.now();
    store.transaction(() => {
      for (const i of open) this.save(resolve(i, { at: now, by, resolution }), { eventId: i.eventId, at: now, kind: 'resolved', actor: by, detail });
      const check: StillFiringJob = { ...to, by, eventIds: open.map((i) => i.eventId), ...(resolution === 'agreed' ? { how: 'phrase' as const } : {}) };
      if (this.deps.firing) this.deps.jobs.enqueue(STILL_FIRING_JOB, check);
      else this.sayResolved(check, open, undefined);
    });
  }

  /** The ✔ taken off a topic: the incidents it closed are open again. */
  async onUnresolved(to: TopicRef, moved: readonly Incident[], byUserId: number | undefined): Promise<void> {
    const closedByMark = moved.filter((i) => i.status === 'resolved' && i.resolution === 'topic-resolved');
    if (closedByMark.length === 0) return;
    const by = (byUserId !== undefined ? await this.deps.userName(byUserId) : undefined) ?? 'someone';
    const now = this.deps.clock.now();
    this.deps.store.transaction(() => {
      for (const i of closedByMark) this.save(reopen(i, now), { eventId: i.eventId, at: now, kind: 'reopened', actor: by, detail: 'resolved mark removed from the topic' });
      this.deps.speaker.say(to.stream, to.topic, `🔁 The resolved mark was taken off this topic by ${neutralizeMentions(by)}: ${closedByMark.map((i) => `**${neutralizeMentions(i.triggerName)}** (event ${i.eventId})`).join(', ')} ${closedByMark.length === 1 ? 'is' : 'are'} open again, with SLA from the first opening; \`!ack\` to acknowledge.`);
    });
    this.deps.log.info({ topic: to, reopened: closedByMark.length }, 'topic un-resolved: incidents reopened');
  }

  /** After `!resolve` / `!resolved-by`: queues the Zabbix check and the ✔ on the Zulip topic (a job). */
  markResolvedLater(ref: TopicRef, done: readonly Incident[], messageId: number, enqueue: (kind: string, payload: unknown) => void): void {
    if (done.length === 0 || (!this.deps.firing && !this.deps.renameTopic)) return;
    const job: MarkResolvedJob = { ...ref, messageId, eventIds: done.map((i) => i.eventId) };
    enqueue(MARK_RESOLVED_JOB, job);
  }

  /** Says which triggers Zabbix still shows firing, then marks the topic ✔ in Zulip once the replies went out. */
  readonly markResolvedJob: JobHandler<MarkResolvedJob> = {
    kind: MARK_RESOLVED_JOB,
    timeoutMs: 120_000,
    run: async (job) => {
      const { deps } = this;
      if (deps.firing) {
        const incidents = job.eventIds.map((id) => deps.store.getIncident(id)).filter((i): i is Incident => i !== undefined);
        const view = await Promise.race([deps.firing(incidents).catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), FIRING_WAIT_MS).unref())]);
        const firing = incidents.filter((i) => view?.get(i.eventId) === true);
        if (firing.length > 0) {
          deps.speaker.say(job.stream, job.topic, `⚠️ Zabbix still shows ${firing.map((i) => `**${neutralizeMentions(i.triggerName)}** (event ${i.eventId})`).join(', ')} firing. Resolved here by hand; if the problem is really gone, check the trigger in Zabbix (\`!recheck\`), or it will be posted again.`);
        }
      }
      if (!deps.renameTopic || isResolvedTopic(job.topic)) return;
      // What the bot says in the topic goes first: a message to the old name after the rename would open it again.
      for (let waited = 0; (deps.pendingFor?.(job.stream, job.topic) ?? 0) > 0 && waited < 60_000; waited += 250) await new Promise((r) => setTimeout(r, 250));
      try {
        await deps.renameTopic(job.messageId, resolvedTopic(job.topic));
        deps.log.info({ topic: job }, 'marked the topic resolved in Zulip');
      } catch (err) {
        if (err instanceof ZulipError && err.retryable) throw err;
        deps.log.warn({ err: (err as Error).message, topic: job }, 'Zulip refused to mark the topic resolved');
        if (deps.store.getState(REFUSED_KEY)) return;
        deps.store.transaction(() => {
          deps.store.setState(REFUSED_KEY, String(deps.clock.now()));
          deps.speaker.say(job.stream, job.topic, `ℹ️ I could not mark this topic resolved (${neutralizeMentions((err as Error).message).slice(0, 200)}): mark it ✔ by hand. To let me do it, allow the bot to move topics in these streams; or set \`zulip.resolveTopics: false\`. (Said once.)`);
        });
      }
    },
  };

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

  private sayResolved(to: TopicRef & { by: string; how?: 'phrase' }, open: readonly Incident[], view: Map<string, boolean> | undefined): void {
    const firing = open.flatMap((incident) => {
      const z = view?.get(incident.eventId);
      if (z === true) return [{ incident, why: 'Zabbix says it is still firing' }];
      if (z === false) return [];
      return [{ incident, why: 'no OK from Zabbix yet' }];
    });
    const by = neutralizeMentions(to.by);
    // The process: resolve only when no other trigger fires for the host, in any SRE stream.
    const others = this.openElsewhere(to);
    const otherLines = others.length === 0 ? [] : [`Still open for this host elsewhere: ${others.slice(0, 10).map((i) => `**${neutralizeMentions(i.triggerName)}** (event ${i.eventId}, ${topicLink(i.stream, i.topic)})`).join('; ')}.`];
    if (firing.length === 0) {
      const head = to.how === 'phrase' ? `✅ ${by} agreed that this has been fully resolved:` : `✅ Topic marked resolved by ${by}:`;
      this.deps.speaker.say(to.stream, to.topic, [`${head} ${open.length === 1 ? 'its incident is' : `its ${open.length} incidents are`} closed.`, ...otherLines].join('\n'));
      return;
    }
    const lines = firing.map((x) => `- ${x.incident.severity}: **${neutralizeMentions(x.incident.triggerName)}** (event ${x.incident.eventId}) — ${x.why}`);
    this.deps.speaker.say(
      to.stream,
      to.topic,
      [
        `⚠️ ${to.how === 'phrase' ? `${by} agreed that this has been fully resolved` : `This topic was marked resolved by ${by}`}, but ${firing.length === 1 ? 'this trigger' : 'these triggers'} may still be firing:`,
        ...lines,
        ...otherLines,
        `Per the process, mark the topic resolved only when no other triggers fire for the host: verify the trigger no longer fires (${this.deps.firing ? '`!recheck` here has Zabbix execute its items now ("Execute now") and reports back' : 'Zabbix "Execute now"'}), then resolve. The incidents are closed in the bot; a new PROBLEM reopens tracking.`,
      ].join('\n'),
    );
  }
}
