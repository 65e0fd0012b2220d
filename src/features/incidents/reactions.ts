/**
 * Reactions as actions: an acknowledge emoji (`reactions.acknowledge`, default 🛠️
 * `working_on_it` and 👀 `eyes`) from a person on an alert post acknowledges that incident; on
 * one of the bot's messages in an incident topic (its status card, a reminder) the topic's open
 * incidents — exactly as `!ack` does, Zabbix included (the `acknowledged` change is emitted, so the
 * zabbix-sync module queues its job). The bot confirms where the person looks: its own ✅ on the
 * reacted message, and the topic's status card (src/features/status-card/) shows who acknowledged;
 * it says nothing more (a Zabbix failure is said by the Zabbix job, once).
 * Removing the reaction changes nothing.
 *
 * A reaction event names only the message: whose it is and which topic it is in now are read
 * from Zulip (`getMessage`) in an after-commit job, off the message path — one request per
 * acknowledge emoji. That is always right about the message's current topic (renames, moves, ✔)
 * and covers every message the bot ever posted, with nothing to remember per topic.
 */
import type { Logger } from '../../core/log';
import type { ParseResult } from '../../domain/alert';
import type { IncidentChange, TopicRef } from '../../domain/incident';
import type { JobHandler, JobQueue } from '../../pipeline/jobs';
import type { ReactionEvent } from '../../pipeline/module';
import type { IncidentStore, Transactional } from '../../store/store';
import type { StreamMessage, ZulipApi } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import type { IncidentLifecycle } from './lifecycle';

export const REACTION_ACK_JOB = 'incidents.reaction-ack';

export interface ReactionAckJob {
  messageId: number;
  userId: number;
  emojiName: string;
}

export interface ReactionAckDeps {
  lifecycle: IncidentLifecycle;
  store: Pick<IncidentStore, 'incidentsInTopic'> & Transactional;
  api: Pick<ZulipApi, 'getMessage'>;
  speaker: Speaker;
  log: Logger;
  jobs: JobQueue;
  /** The emoji that acknowledge (Zulip's names). */
  emoji: readonly string[];
  /** The SRE streams: reactions elsewhere are ignored. */
  streams: readonly string[];
  alertSenders: readonly string[];
  selfId: number;
  userName: (id: number) => Promise<string | undefined>;
  /** Reads an alert post (src/zabbix/parse-alert.ts): a repeat post of the event names it too. */
  parse?: (content: string) => ParseResult;
  /** Tells every module what changed (the pipeline's `emit`, inside the transaction): the Zabbix job, the status card. */
  publish: (change: IncidentChange) => void;
}

/** The hook: an acknowledge emoji added by a person queues the job (nothing slow here). */
export function onAcknowledgeReaction(d: Pick<ReactionAckDeps, 'emoji' | 'jobs'>, e: ReactionEvent): void {
  if (e.op !== 'add' || !d.emoji.includes(e.emojiName)) return;
  const job: ReactionAckJob = { messageId: e.messageId, userId: e.userId, emojiName: e.emojiName };
  d.jobs.enqueue(REACTION_ACK_JOB, job);
}

/** Which incidents a reaction on `m` acknowledges: the alert's own, or the topic's (the bot's message); undefined: none (not an incident message). */
function target(d: ReactionAckDeps, m: StreamMessage): { ref: TopicRef; eventId?: string } | undefined {
  if (!d.streams.includes(m.stream)) return undefined;
  const ref = { stream: m.stream, topic: m.topic };
  if (m.senderId === d.selfId) return { ref };
  if (!d.alertSenders.some((s) => s.toLowerCase() === m.senderEmail.toLowerCase())) return undefined;
  // The incident this post opened or last repeated (incidents follow their topic, so it is here);
  // else the event an earlier repeat post names (an OK post acknowledges nothing).
  const own = d.store.incidentsInTopic(ref).find((i) => i.openedMessageId === m.id || i.lastAlertMessageId === m.id);
  if (own) return { ref, eventId: own.eventId };
  const parsed = d.parse?.(m.content);
  return parsed?.ok && parsed.alert.status === 'PROBLEM' ? { ref, eventId: parsed.alert.eventId } : undefined;
}

export function reactionAckJob(d: ReactionAckDeps): JobHandler<ReactionAckJob> {
  return {
    kind: REACTION_ACK_JOB,
    // Reading the message again and acknowledging is safe to repeat: what is acknowledged stays so.
    maxAttempts: 20,
    async run(job) {
      const m = await d.api.getMessage(job.messageId);
      const t = m && target(d, m);
      if (!m || !t) {
        d.log.debug({ messageId: job.messageId, emoji: job.emojiName }, 'reaction on a message outside incident topics; ignored');
        return;
      }
      const by = (await d.userName(job.userId)) ?? 'someone';
      // One transaction: the acknowledgement, the Zabbix job the change queues, the ✅ (a crash
      // between them would leave an acknowledgement Zabbix never hears of).
      const acked = d.store.transaction(() => {
        const r = d.lifecycle.acknowledgeTopic(t.ref, by, undefined, t.eventId, job.userId);
        if (r.acked.length === 0) return r.acked;
        // Acknowledged where the incident lives (an event id may name one tracked elsewhere).
        const where = r.elsewhere ?? t.ref;
        d.publish({ kind: 'acknowledged', incidents: r.acked, by, where });
        d.speaker.react(m.id, 'check');
        return r.acked;
      });
      if (acked.length === 0) {
        d.log.info({ messageId: m.id, topic: t.ref }, 'acknowledge reaction: nothing left to acknowledge');
        return;
      }
      d.log.info({ messageId: m.id, by, emoji: job.emojiName, eventIds: acked.map((i) => i.eventId) }, 'acknowledged by reaction');
    },
  };
}
