/**
 * Keeping the bot's picture equal to Zulip's, from Zulip's history (after-commit jobs, off the
 * message path):
 * - reconcile: on every start and after every event-queue re-registration, each tracked topic's
 *   alert post is looked up where it is now; renames, moves, ✔ and un-✔ made while the bot was
 *   not listening are applied as if seen live;
 * - import: on the first start (an empty store), the alert streams' recent history is read and
 *   the PROBLEMs in unresolved topics with no later OK become open incidents; said once.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { neutralizeMentions, topicLink } from '../../core/text';
import type { ZabbixAlert } from '../../domain/alert';
import { CLASS_LABEL, CLASS_ORDER } from '../../domain/classes';
import { formatDuration } from '../../domain/duration';
import { isZabbixEventId } from '../../domain/event-ids';
import { applyAlert, type Incident, type TopicRef } from '../../domain/incident';
import type { SlaConfig } from '../../domain/sla';
import { schedule } from '../../domain/timers';
import { isResolvedTopic } from '../../domain/topics';
import type { JobHandler } from '../../pipeline/jobs';
import type { IncidentStore, StateStore, Transactional } from '../../store/store';
import type { ParseResult } from '../../domain/alert';
import type { StreamMessage, ZulipApi } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';

export const RECONCILE_JOB = 'incidents.reconcile';
export const IMPORT_JOB = 'incidents.import';
const IMPORT_DONE_KEY = 'incidents.imported';
/** Incidents resolved by ✔ this recently are checked for a ✔ taken off while the bot was away. */
const UNRESOLVED_LOOKBACK_MS = 14 * 86_400_000;
const PAGE = 1000;

export interface HistoryDeps {
  store: IncidentStore & StateStore & Transactional;
  api: Pick<ZulipApi, 'getMessage' | 'getMessagesBefore'>;
  speaker: Speaker;
  clock: Clock;
  log: Logger;
  sla: SlaConfig;
  /** The SRE streams (alerts are read from all of them). */
  streams: readonly string[];
  generalStream: string;
  alertSenders: readonly string[];
  parse: (content: string) => ParseResult;
  /** Follows a topic move exactly as a live one (the pipeline's intake and every module's hook). */
  applyMove: (from: TopicRef, to: TopicRef) => Promise<void>;
  /** How far back the first start reads (milliseconds). */
  importWindow: number;
  /** Waits for the shared rate limit before each Zulip request. */
  pace?: () => Promise<void>;
}

/** The reconcile job: every tracked topic's alert post, looked up where it is now. */
export function reconcileJob(d: HistoryDeps): JobHandler<Record<string, never>> {
  // One reconcile at a time; one asked for meanwhile runs once more after it.
  let running = false;
  let again = false;
  return {
    kind: RECONCILE_JOB,
    timeoutMs: 30 * 60_000,
    async run() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          await reconcileOnce(d);
        } while (again);
      } finally {
        running = false;
      }
    },
  };
}

/**
 * Looks up where each tracked topic's alert post is now and follows what moved. `only` limits it
 * to some topics (at start: those with messages queued, before the outbox sends them).
 */
export async function reconcileOnce(d: HistoryDeps, only?: (ref: TopicRef) => boolean): Promise<void> {
  const now = d.clock.now();
  const recent = d.store.incidentsOpenedBetween(now - UNRESOLVED_LOOKBACK_MS * 4, now + 1).filter((i) => i.status === 'resolved' && i.resolution === 'topic-resolved' && (i.resolvedAt ?? 0) >= now - UNRESOLVED_LOOKBACK_MS);
  const tracked = [...d.store.openIncidents(), ...recent];
  // One look-up per topic: the newest alert post of its incidents.
  const byTopic = new Map<string, { ref: TopicRef; messageId: number }>();
  for (const i of tracked) {
    const key = `${i.stream}\u0000${i.topic}`;
    const id = Math.max(i.lastAlertMessageId, i.openedMessageId);
    // Adopted from Zabbix by the sync (no post of its own), or reported by hand (`!incident`'s
    // message may be in another topic than the incident's): nothing in Zulip to follow.
    if (id <= 0 || !isZabbixEventId(i.eventId)) continue;
    const cur = byTopic.get(key);
    if (only && !only(i)) continue;
    if (!cur || cur.messageId < id) byTopic.set(key, { ref: { stream: i.stream, topic: i.topic }, messageId: id });
  }
  let moved = 0;
  let gone = 0;
  for (const { ref, messageId } of byTopic.values()) {
    await d.pace?.();
    const m = await d.api.getMessage(messageId);
    if (!m) {
      gone++;
      d.log.warn({ ...ref, messageId }, 'reconcile: the alert post of a tracked topic is gone (deleted?); incidents kept');
      continue;
    }
    if (m.stream === ref.stream && m.topic === ref.topic) continue;
    moved++;
    d.log.info({ from: ref, to: { stream: m.stream, topic: m.topic } }, 'reconcile: topic renamed or moved while the bot was not listening');
    await d.applyMove(ref, { stream: m.stream, topic: m.topic });
  }
  d.log.info({ topics: byTopic.size, moved, gone }, 'reconciled the tracked topics with Zulip');
}

/** The first-start import: open incidents from the alert streams' recent history. */
export function importJob(d: HistoryDeps): JobHandler<{ upTo?: number }> {
  return {
    kind: IMPORT_JOB,
    timeoutMs: 10 * 60_000,
    async run(job) {
      if (d.store.getState(IMPORT_DONE_KEY)) return;
      const now = d.clock.now();
      const since = now - d.importWindow;
      const senders = new Set(d.alertSenders.map((e) => e.toLowerCase()));
      const posts: StreamMessage[] = [];
      for (const stream of d.streams) {
        let before: number | undefined = job.upTo === undefined ? undefined : job.upTo + 1;
        for (;;) {
          await d.pace?.();
          const page = await d.api.getMessagesBefore(before, { stream }, PAGE);
          posts.push(...page.messages.filter((m) => senders.has(m.senderEmail.toLowerCase()) && m.timestamp * 1000 >= since));
          const oldest = page.messages[0];
          if (page.foundOldest || !oldest || oldest.timestamp * 1000 < since) break;
          before = oldest.id;
        }
      }
      posts.sort((a, b) => a.id - b.id);
      // What history says of each event: the PROBLEM that opened it, and whether it was closed.
      const seen = new Map<string, { alert: ZabbixAlert; post: StreamMessage; closed: 'ok' | 'resolved-topic' | undefined }>();
      let unreadable = 0;
      for (const m of posts) {
        const parsed = d.parse(m.content);
        if (!parsed.ok) {
          unreadable++;
          continue;
        }
        const a = parsed.alert;
        const cur = seen.get(a.eventId);
        if (a.status === 'OK') {
          if (cur) cur.closed = 'ok';
          continue;
        }
        if (!cur) seen.set(a.eventId, { alert: a, post: m, closed: isResolvedTopic(m.topic) ? 'resolved-topic' : undefined });
        else if (isResolvedTopic(m.topic)) cur.closed ??= 'resolved-topic';
      }
      const opened: Incident[] = [];
      let closedByMark = 0;
      let closedByOk = 0;
      d.store.transaction(() => {
        for (const { alert, post, closed } of seen.values()) {
          if (closed === 'ok') closedByOk++;
          if (closed === 'resolved-topic') closedByMark++;
          if (closed || d.store.getIncident(alert.eventId)) continue;
          const r = applyAlert(undefined, alert, { messageId: post.id, at: post.timestamp * 1000, stream: post.stream, topic: post.topic, senderName: post.senderName });
          if (r.kind !== 'opened') continue;
          const incident = schedule(r.incident, d.sla);
          d.store.putIncident(incident, { ...r.log, detail: `${r.log.detail ?? ''} (imported from Zulip's history at first start)` });
          opened.push(incident);
        }
        d.store.setState(IMPORT_DONE_KEY, String(now));
        // Said once; an empty Zulip (nothing from the alert senders) needs no word.
        if (posts.length > 0) d.speaker.say(d.generalStream, 'SRE bot', renderImport(opened, { window: d.importWindow, posts: posts.length, closedByMark, closedByOk, unreadable }), 'bulk');
      });
      d.log.info({ posts: posts.length, opened: opened.length, closedByMark, closedByOk, unreadable }, 'first start: imported open incidents from history');
    },
  };
}

export function renderImport(opened: readonly Incident[], f: { window: number; posts: number; closedByMark: number; closedByOk: number; unreadable: number }): string {
  const counts = CLASS_ORDER.map((c) => ({ c, n: opened.filter((i) => i.incidentClass === c).length })).filter((x) => x.n > 0);
  const head = `📥 **First start**: I read the last ${formatDuration(f.window)} of the alert streams (${f.posts} alert posts). ` +
    (opened.length === 0
      ? 'No unresolved alert topic without an OK: nothing to track yet.'
      : `Tracking **${opened.length} open incident${opened.length === 1 ? '' : 's'}** from unresolved topics (${counts.map((x) => `${x.n} ${CLASS_LABEL[x.c].toLowerCase()}`).join(', ')}); their SLA counts from their first alert.`);
  const closed = `Left closed: ${f.closedByMark} in topics marked ✔, ${f.closedByOk} with an OK from Zabbix${f.unreadable > 0 ? `; ${f.unreadable} posts were not readable as alerts` : ''}.`;
  const topics = [...new Map(opened.map((i) => [`${i.stream}\u0000${i.topic}`, i])).values()];
  const lines = topics.slice(0, 30).map((i) => `- ${CLASS_LABEL[i.incidentClass]}: ${topicLink(i.stream, i.topic)} — ${neutralizeMentions(i.triggerName)}`);
  return [head, closed, ...lines, ...(topics.length > 30 ? [`… and ${topics.length - 30} more topics (\`!ongoing\`).`] : [])].join('\n');
}
