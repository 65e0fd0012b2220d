/**
 * The non-critical workflow from the team's process: Lynx project IDs reported in host topics
 * are remembered; a repeated alert whose ID is known gets 🔁 and no message; an alert with no
 * ID yet gets the checklist once, with the names already filled in.
 */
import type { AlertEvent } from '../../pipeline/module';
import type { BotConfig } from '../../config/schema';
import { formatDuration } from '../../domain/duration';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import { formatTime } from '../../domain/time';
import type { IncidentStore, TrackingStore, Transactional } from '../../store/store';
import type { StreamMessage } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import type { Incident, TopicRef } from '../../domain/incident';
import { findProjectIds, incidentNames, type IncidentNames } from '../../domain/naming';
import { slaFor } from '../../domain/sla';

export const REPEAT_EMOJI = 'repeat';

export interface NonCriticalDeps {
  store: TrackingStore & Pick<IncidentStore, 'incidentsInTopic'> & Transactional;
  speaker: Speaker;
  config: Pick<BotConfig, 'streams' | 'sla' | 'naming' | 'timezone'>;
  clock: Clock;
  log: Logger;
  /** Says a topic's first message; during a storm its hosts' go into the storm summary (src/features/runbook). Default: said. */
  firstMessage?: (m: { host: string; ref: TopicRef; content: string | (() => string); kind: 'checklist' }) => void;
}

/** The names for an incident; mention syntax from trigger names is made silent (they are echoed in chat). */
export function namesFor(i: Incident, config: NonCriticalDeps['config'], letters?: string): IncidentNames {
  const n = incidentNames({
    triggerName: i.triggerName,
    host: i.host,
    at: i.openedAt,
    timeZone: config.timezone,
    organisation: config.naming.organisation,
    ...(letters ? { letters } : {}),
  });
  return { ...n, kimaiActivity: outside(n.kimaiActivity), milestone: outside(n.milestone), lynxProject: outside(n.lynxProject) };
}

/** The checklist for a non-critical alert with no Lynx project yet. Pure. */
export function renderChecklist(i: Incident, config: NonCriticalDeps['config']): string {
  const n = namesFor(i, config);
  const c = slaFor(config.sla, i.incidentClass);
  const tz = config.timezone;
  const ack = c.ackWithin !== undefined ? `acknowledge by ${formatTime(i.openedAt + c.ackWithin, tz)} (${formatDuration(c.ackWithin)})` : undefined;
  const res = c.resolveWithin !== undefined ? `resolve by ${formatTime(i.openedAt + c.resolveWithin, tz)} (${formatDuration(c.resolveWithin)})` : undefined;
  const deadline = c.resolveWithin !== undefined ? formatTime(i.openedAt + c.resolveWithin, tz) : 'the SLO deadline';
  return [
    `📋 **Non-critical checklist** for **${outside(i.triggerName)}** on **${outside(i.host)}** — no Lynx project ID reported in this topic yet.`,
    `SLA: ${[ack, res].filter(Boolean).join(', ')}.`,
    '1. Acknowledge (`!ack [note]` here; in Zabbix too).',
    '2. Check the metrics sheet for an uncompleted milestone for this host and issue.',
    '   - **Milestone exists:** post its Lynx project ID here (or `!project SRE…`). Later repeats of this alert get 🔁 instead of a new report.',
    '   - **No milestone yet:**',
    `     - Metrics sheet milestone: \`${n.milestone}\` (start date ${n.startDate}; DoD: what must be true for this to be resolved)`,
    `     - Lynx project: \`${n.lynxProject}\`, ID \`${n.lynxId}\` (suggested; \`!names XXX\` for other letters), priority 99 until estimated, then 20; tasks estimated in SP; final task constrained to the SLO deadline ${deadline}`,
    `     - Kimai activity: \`${n.kimaiActivity}\``,
    '     - Post the Lynx project ID here.',
  ].join('\n');
}

export class NonCriticalWorkflow {
  constructor(private readonly deps: NonCriticalDeps) {}

  private latestIncident(ref: TopicRef): Incident | undefined {
    return this.deps.store.incidentsInTopic(ref).sort((a, b) => b.lastAlertAt - a.lastAlertAt)[0];
  }

  onAlert({ alert, outcome, message }: AlertEvent): void {
    if (alert.incidentClass !== 'non-critical' || alert.status !== 'PROBLEM') return;
    // A replayed post (crash between handling and the position being saved) gets the same
    // treatment: the reaction and the checklist marker make it idempotent.
    if (outcome.kind !== 'opened' && outcome.kind !== 'repeated' && outcome.kind !== 'replayed') return;
    const { store, speaker } = this.deps;
    const ref = { stream: message.stream, topic: message.topic };
    // An ID reported after this post (a post read back on start, handled before) does not make it a repeat.
    const known = store.projectIdsIn(ref).filter((r) => (r.triggerId === undefined || r.triggerId === alert.triggerId) && (r.messageId === undefined || r.messageId < message.id));
    if (known.length > 0) {
      speaker.react(message.id, REPEAT_EMOJI);
      this.deps.log.debug({ messageId: message.id, eventId: alert.eventId, projectId: known[0]?.projectId }, 'repeated non-critical alert: reacted 🔁');
      return;
    }
    store.transaction(() => {
      if (!store.markChecklistPosted(ref, alert.triggerId, this.deps.clock.now())) return;
      const content = () => renderChecklist(outcome.incident, this.deps.config);
      if (this.deps.firstMessage) this.deps.firstMessage({ host: alert.host, ref, content, kind: 'checklist' });
      else speaker.say(ref.stream, ref.topic, content(), 'bulk');
    });
  }

  /** Every message in a non-critical topic: remember the Lynx project IDs it mentions. */
  onMessage(m: StreamMessage): void {
    if (m.stream !== this.deps.config.streams.nonCritical) return;
    const ids = findProjectIds(m.content);
    for (const projectId of ids) this.record({ stream: m.stream, topic: m.topic }, projectId, m.senderName, m.id);
  }

  /** Records an ID for the topic's latest incident's trigger; true when it was new. */
  record(ref: TopicRef, projectId: string, by: string, messageId?: number): boolean {
    const latest = this.latestIncident(ref);
    const isNew = this.deps.store.recordProjectId({
      ...ref,
      projectId,
      by,
      at: this.deps.clock.now(),
      ...(latest ? { triggerId: latest.triggerId } : {}),
      ...(messageId !== undefined ? { messageId } : {}),
    });
    if (isNew) this.deps.log.info({ ...ref, projectId, by, triggerId: latest?.triggerId }, 'Lynx project ID recorded');
    return isNew;
  }

  names(ref: TopicRef, letters?: string): { incident: Incident; names: IncidentNames } | undefined {
    const incident = this.latestIncident(ref);
    return incident ? { incident, names: namesFor(incident, this.deps.config, letters) } : undefined;
  }
}
